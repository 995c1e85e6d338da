package dev.returnpath.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Secret keys: every secret key {@code K} also accepts {@code K-file}, a path whose content,
 * trimmed, is the value (Docker and Kubernetes secrets mounted as files). Setting both is a
 * config error naming the file, line and key. The file is read each time the configuration is
 * parsed, so a reload picks up a rotated secret. Error texts name the path, never the content.
 */
final class Secrets {
    private Secrets() {}

    /** The value of {@code key} or of {@code key-file}; empty when neither is set. */
    static Optional<String> optSecret(ConfigReader r, String key) throws ConfigException {
        String fileKey = key + "-file";
        Optional<String> inline = r.optString(key);
        Optional<String> file = r.optString(fileKey);
        if (inline.isPresent() && file.isPresent()) {
            throw r.error(fileKey, "set " + last(key) + " or " + last(fileKey) + ", not both");
        }
        if (file.isEmpty()) {
            return inline;
        }
        String content;
        try {
            content = Files.readString(Path.of(file.get()), StandardCharsets.UTF_8).strip();
        } catch (IOException | RuntimeException e) {
            throw r.error(fileKey, "cannot read \"" + file.get() + "\"");
        }
        if (content.isEmpty()) {
            throw r.error(fileKey, "\"" + file.get() + "\" is empty");
        }
        return Optional.of(content);
    }

    private static String last(String key) {
        return key.substring(key.lastIndexOf('.') + 1);
    }
}
