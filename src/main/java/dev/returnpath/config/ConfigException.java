package dev.returnpath.config;

/**
 * A configuration that cannot be used. The message always names the file, the line and the
 * key, e.g. {@code conf/returnpath.conf:12: returnpath.listen.port: must be 1-65535, got 70000},
 * so that an operator can fix it without reading a stack trace. {@code serve} exits 78 on it.
 */
public final class ConfigException extends Exception {
    private final String file;
    private final int line;
    private final String key;
    private final String problem;

    public ConfigException(String file, int line, String key, String problem) {
        super(format(file, line, key, problem));
        this.file = file;
        this.line = line;
        this.key = key;
        this.problem = problem;
    }

    private static String format(String file, int line, String key, String problem) {
        StringBuilder sb = new StringBuilder(file == null ? "(unknown file)" : file);
        if (line > 0) {
            sb.append(':').append(line);
        }
        sb.append(": ");
        if (key != null && !key.isEmpty()) {
            sb.append(key).append(": ");
        }
        return sb.append(problem).toString();
    }

    public String file() { return file; }
    public int line() { return line; }
    public String key() { return key; }
    public String problem() { return problem; }
}
