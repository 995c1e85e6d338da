package dev.returnpath.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;

/**
 * {@code healthcheck}: for a container HEALTHCHECK without curl. Connects to the SMTP listener
 * and expects a 220 greeting, then says QUIT. Exit 0 when healthy, 1 otherwise.
 */
@Command(name = "healthcheck", mixinStandardHelpOptions = true,
        description = "Exit 0 if the relay on HOST:PORT greets with 220 (for container health checks).")
final class HealthcheckCommand implements Callable<Integer> {
    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Default: ${DEFAULT-VALUE}.")
    String host;

    @Option(names = "--port", defaultValue = "2525", description = "Default: ${DEFAULT-VALUE}.")
    int port;

    @Option(names = "--timeout-ms", defaultValue = "3000", description = "Default: ${DEFAULT-VALUE}.")
    int timeoutMs;

    @Override
    public Integer call() {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), timeoutMs);
            s.setSoTimeout(timeoutMs);
            InputStream in = s.getInputStream();
            byte[] buf = new byte[512];
            int n = in.read(buf);
            String greeting = n > 0 ? new String(buf, 0, n, StandardCharsets.US_ASCII) : "";
            OutputStream out = s.getOutputStream();
            out.write("QUIT\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            if (greeting.startsWith("220")) {
                System.out.println("healthy: " + greeting.strip());
                return 0;
            }
            System.out.println("unhealthy: greeting " + greeting.strip());
            return 1;
        } catch (IOException e) {
            System.out.println("unhealthy: " + host + ":" + port + ": " + e.getMessage());
            return 1;
        }
    }
}
