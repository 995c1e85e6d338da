package dev.returnpath.dkim;

import dev.returnpath.message.HeaderBlock;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * RFC 8463 Appendix A: the Ed25519 key of A.2 and the signed message of A.3, by someone else's
 * implementation. Ed25519 is deterministic, so the signature made here over the RFC's signature
 * field must be the RFC's {@code b=} exactly, byte for byte.
 */
class Rfc8463VectorTest {
    static final String SEED = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";
    static final String PUBLIC = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
    static final String B = "/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11BusFa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==";
    static final String UNSIGNED_FIELD = "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
            + " d=football.example.com; i=@football.example.com;\r\n"
            + " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
            + " subject : date : message-id : from : subject : date;\r\n"
            + " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
            + " b=";
    static final String HEADER = "From: Joe SixPack <joe@football.example.com>\r\n"
            + "To: Suzie Q <suzie@shopping.example.net>\r\n"
            + "Subject: Is dinner ready?\r\n"
            + "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
            + "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n";
    static final String BODY = "Hi.\r\n\r\nWe lost the game.  Are you hungry yet?\r\n\r\nJoe.\r\n";

    /** The RFC's raw 32-byte key as PKCS#8 (RFC 8410: a fixed 16-byte prefix, then the key). */
    static DkimKey rfcKey() throws Exception {
        byte[] seed = Base64.getDecoder().decode(SEED);
        byte[] der = HexFormat.of().parseHex("302e020100300506032b657004220420");
        byte[] pkcs8 = java.util.Arrays.copyOf(der, der.length + seed.length);
        System.arraycopy(seed, 0, pkcs8, der.length, seed.length);
        KeyFactory.getInstance("Ed25519").generatePrivate(new PKCS8EncodedKeySpec(pkcs8)); // a valid key at all
        String pem = "-----BEGIN PRIVATE KEY-----\n" + Base64.getEncoder().encodeToString(pkcs8) + "\n-----END PRIVATE KEY-----\n";
        return DkimKey.fromPem("football.example.com", "brisbane", Path.of("rfc8463.pem"), pem);
    }

    @Test
    void theBodyHashIsTheRfcsBh() {
        assertThat(Base64.getEncoder().encodeToString(DkimSigner.bodyHash(BODY.getBytes(StandardCharsets.US_ASCII))))
                .isEqualTo("2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");
    }

    @Test
    void thePublicHalfDerivedFromTheSeedIsTheRfcsPublicKey() throws Exception {
        DkimKey k = rfcKey();
        assertThat(k.algorithm()).isEqualTo(DkimKey.Algorithm.ED25519_SHA256);
        assertThat(k.publicKeyBase64()).isEqualTo(PUBLIC);
        assertThat(k.record()).isEqualTo("v=DKIM1; k=ed25519; p=" + PUBLIC);
    }

    @Test
    void signingTheRfcsFieldGivesTheRfcsSignatureByteForByte() throws Exception {
        DkimKey k = rfcKey();
        HeaderBlock headers = HeaderBlock.parse(HEADER.getBytes(StandardCharsets.US_ASCII));
        List<String> h = List.of("from", "to", "subject", "date", "message-id", "from", "subject", "date");
        byte[] input = DkimSigner.signingInput(headers, h, UNSIGNED_FIELD.getBytes(StandardCharsets.US_ASCII));
        assertThat(Base64.getEncoder().encodeToString(DkimSigner.signature(k, input))).isEqualTo(B);
    }

    @Test
    void ourOwnFieldForTheRfcMessageVerifiesWithTheRfcsPublicKey() throws Exception {
        DkimKey k = rfcKey();
        HeaderBlock headers = HeaderBlock.parse(HEADER.getBytes(StandardCharsets.US_ASCII));
        byte[] field = DkimSigner.sign(k, headers, DkimSigner.bodyHash(BODY.getBytes(StandardCharsets.US_ASCII)), 1528637909);
        String f = new String(field, StandardCharsets.US_ASCII);
        assertThat(f).startsWith("DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed; d=football.example.com; s=brisbane;")
                .contains("t=1528637909;").contains("h=from:from:to:subject:date:message-id;").doesNotContain("l=")
                .endsWith("\r\n");
        String b = f.substring(f.indexOf("b=", f.indexOf("bh=") + 3) + 2).replaceAll("\\s", "");
        String unsigned = f.substring(0, f.indexOf("b=", f.indexOf("bh=") + 3) + 2);
        byte[] input = DkimSigner.signingInput(headers, DkimSigner.signedNames(headers), unsigned.getBytes(StandardCharsets.US_ASCII));
        Signature v = Signature.getInstance("Ed25519");
        v.initVerify(k.publicKey());
        v.update(java.security.MessageDigest.getInstance("SHA-256").digest(input));
        assertThat(v.verify(Base64.getDecoder().decode(b))).isTrue();
    }
}
