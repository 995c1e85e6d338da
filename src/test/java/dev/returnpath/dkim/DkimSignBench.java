package dev.returnpath.dkim;

import dev.returnpath.message.HeaderBlock;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyPair;
import java.util.Arrays;

/**
 * What signing costs per message, not a test: CPU time of the body hash of a 4 KiB body and of
 * one signature per key type, single-threaded, after a warm-up. Run it after
 * {@code mvn -q test-compile}:
 * {@code java -cp target/classes:target/test-classes dev.returnpath.dkim.DkimSignBench [N]}.
 * Prints CPU µs per operation, the median of 5 rounds of N (2000) after N to warm up.
 */
public final class DkimSignBench {
    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 2000;
        byte[] header = ("From: Shop <noreply@example.com>\r\nTo: customer@gmail.test\r\nSubject: Your order\r\n"
                + "Date: Tue, 1 Dec 2026 10:00:00 +0000\r\nMessage-ID: <b@web01.internal>\r\nMIME-Version: 1.0\r\n"
                + "Content-Type: text/plain; charset=utf-8\r\n").getBytes(StandardCharsets.US_ASCII);
        HeaderBlock headers = HeaderBlock.parse(header);
        byte[] body = new byte[4096];
        for (int i = 0; i < body.length; i++) {
            body[i] = (byte) (i % 78 == 77 ? '\n' : i % 78 == 76 ? '\r' : 'a' + i % 26);
        }
        KeyPair rsa = DkimKey.generate(DkimKey.Algorithm.RSA_SHA256, 2048);
        KeyPair ed = DkimKey.generate(DkimKey.Algorithm.ED25519_SHA256, 0);
        DkimKey rsaKey = DkimKey.fromPem("example.com", "rsa", Path.of("rsa.pem"), DkimKey.pem(rsa.getPrivate()));
        DkimKey edKey = DkimKey.fromPem("example.com", "ed", Path.of("ed.pem"), DkimKey.pem(ed.getPrivate()));
        byte[] bh = DkimSigner.bodyHash(body);
        System.out.printf("body hash, 4 KiB: %.1f µs%n", median(() -> DkimSigner.bodyHash(body), n * 10));
        System.out.printf("sign, RSA-2048:   %.1f µs%n", median(() -> DkimSigner.sign(rsaKey, headers, bh, 1L), n));
        System.out.printf("sign, Ed25519:    %.1f µs%n", median(() -> DkimSigner.sign(edKey, headers, bh, 1L), n));
    }

    interface Op {
        Object run() throws Exception;
    }

    static double median(Op op, int n) throws Exception {
        double[] rounds = new double[5];
        for (int i = 0; i < n; i++) {
            op.run();
        }
        var bean = java.lang.management.ManagementFactory.getThreadMXBean();
        for (int r = 0; r < rounds.length; r++) {
            long t0 = bean.getCurrentThreadCpuTime();
            for (int i = 0; i < n; i++) {
                op.run();
            }
            rounds[r] = (bean.getCurrentThreadCpuTime() - t0) / 1000.0 / n;
        }
        Arrays.sort(rounds);
        return rounds[2];
    }
}
