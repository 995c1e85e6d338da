package dev.returnpath.inbound;

/**
 * A stage's answer that the message is not taken: the reply the client gets to its DATA,
 * {@code code enhanced text}. Thrown by the stages after {@code inbound}; the listener writes
 * it on the wire. Carries no stack trace: it is an answer, not an error.
 */
public final class Refusal extends Exception {
    private final int code;
    private final String enhanced;
    private final String text;

    public Refusal(int code, String enhanced, String text) {
        super(code + " " + enhanced + " " + text, null, false, false);
        this.code = code;
        this.enhanced = enhanced;
        this.text = text;
    }

    public int code() {
        return code;
    }

    public String enhanced() {
        return enhanced;
    }

    public String text() {
        return text;
    }
}
