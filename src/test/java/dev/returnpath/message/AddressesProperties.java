package dev.returnpath.message;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import net.jqwik.api.constraints.StringLength;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/** Envelope address syntax and MAIL parameters (RFC 5321 §4.1.2, §4.1.3, §4.5.3.1; RFC 1870), as properties. */
class AddressesProperties {

    @Provide
    Arbitrary<String> atoms() {
        return Arbitraries.strings().withChars("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+/=?^_`{|}~-")
                .ofMinLength(1).ofMaxLength(12);
    }

    @Provide
    Arbitrary<String> localParts() {
        return atoms().list().ofMinSize(1).ofMaxSize(6).map(l -> String.join(".", l));
    }

    @Provide
    Arbitrary<String> domains() {
        Arbitrary<String> label = Arbitraries.strings().withCharRange('a', 'z').numeric().ofMinLength(1).ofMaxLength(20)
                .map(s -> s.length() > 2 ? s.charAt(0) + s.substring(1, s.length() - 1).replace('0', '-') + s.charAt(s.length() - 1) : s);
        return label.list().ofMinSize(1).ofMaxSize(5).map(l -> String.join(".", l));
    }

    @Property
    void aDotAtomOfAtMost64OctetsAtAHostNameIsAMailbox(@ForAll("localParts") String local, @ForAll("domains") String domain) {
        String address = local + "@" + domain;
        boolean fits = local.getBytes(StandardCharsets.UTF_8).length <= 64;
        assertThat(Addresses.isValidMailbox(address)).as(address).isEqualTo(fits);
    }

    @Property
    void aLocalPartOver64OctetsIsNeverAMailbox(@ForAll @IntRange(min = 65, max = 300) int n, @ForAll("domains") String domain) {
        assertThat(Addresses.isValidMailbox("a".repeat(n) + "@" + domain)).isFalse();
        assertThat(Addresses.isValidMailbox("\u00e9".repeat((n + 1) / 2) + "@" + domain)).isFalse(); // 2 octets each
    }

    @Property
    void everyDottedQuadIsAnAddressLiteralAndNothingElseInTheBrackets(
            @ForAll @IntRange(min = 0, max = 255) int a, @ForAll @IntRange(min = 0, max = 255) int b,
            @ForAll @IntRange(min = 0, max = 255) int c, @ForAll @IntRange(min = 0, max = 255) int d,
            @ForAll @StringLength(min = 1, max = 8) String junk) {
        String quad = a + "." + b + "." + c + "." + d;
        assertThat(Addresses.isValidMailbox("x@[" + quad + "]")).isTrue();
        assertThat(Addresses.isValidMailbox("x@[" + quad + " " + junk + "]")).isFalse();
        assertThat(Addresses.isValidMailbox("x@[" + quad + "]" + junk)).isFalse();
    }

    @Property
    void anOctetOver255IsNotAnAddressLiteral(@ForAll @IntRange(min = 256, max = 99999) int big) {
        assertThat(Addresses.isAddressLiteral("[1.2.3." + big + "]")).isFalse();
    }

    @Property
    void everyIpv6AddressIsALiteralInFullAndCompressedForm(@ForAll byte[] raw) throws Exception {
        byte[] sixteen = java.util.Arrays.copyOf(raw, 16);
        Inet6Address a = (Inet6Address) InetAddress.getByAddress(null, sixteen);
        String full = a.getHostAddress().replaceAll("%.*", ""); // 8 groups, no compression
        assertThat(Addresses.isAddressLiteral("[IPv6:" + full + "]")).as(full).isTrue();
        String compressed = full.replaceFirst("(^|:)0(:0)+(:|$)", "::");
        if (compressed.split(":", -1).length - 1 <= 7) {
            assertThat(Addresses.isAddressLiteral("[IPv6:" + compressed + "]")).as(compressed).isTrue();
        }
        assertThat(Addresses.isAddressLiteral("[IPv6:" + full + ":1]")).as("nine groups").isFalse();
    }

    @Property
    void noStringMakesTheSyntaxChecksThrow(@ForAll String s) {
        Addresses.isValidMailbox(s);
        Addresses.isValidDomain(s);
        Addresses.isAddressLiteral(s);
        Addresses.declaredSize(s);
    }

    @Property
    void theDeclaredSizeIsReadWhereverTheParameterIs(@ForAll @LongRange(min = 0) long size, @ForAll boolean first) {
        String args = first ? "FROM:<a@example.com> SIZE=" + size + " BODY=8BITMIME"
                : "FROM:<a@example.com> BODY=8BITMIME size=" + size;
        assertThat(Addresses.declaredSize(args)).hasValue(size);
    }

    @Property
    void aSizeOfUpTo20DigitsBeyondALongExceedsEveryLimit(@ForAll @IntRange(min = 19, max = 20) int digits) {
        String n = "9".repeat(digits);
        assertThat(Addresses.declaredSize("FROM:<a@example.com> SIZE=" + n).getAsLong()).isEqualTo(Long.MAX_VALUE);
        assertThat(Addresses.declaredSize("FROM:<a@example.com> SIZE=" + "9".repeat(21))).isEmpty(); // not a size-value
    }

    @Property
    void aSizeInsideTheAddressIsNotTheParameter(@ForAll("localParts") String local) {
        assertThat(Addresses.declaredSize("FROM:<\"SIZE=5 " + local + "\"@example.com>")).isEmpty();
    }
}
