package dev.returnpath.spf;

/**
 * Ends an evaluation early with {@link SpfResult#PERMERROR} or {@link SpfResult#TEMPERROR}: RFC 7208
 * §4.6 and §5 make both "exceptions" that stop all mechanism processing, including in the records
 * that included this one. Carries no stack trace: it is control flow, not a bug.
 */
final class CheckHostError extends Exception {
    private final SpfResult result;

    private CheckHostError(SpfResult result, String detail) {
        super(detail, null, false, false);
        this.result = result;
    }

    static CheckHostError permerror(String detail) {
        return new CheckHostError(SpfResult.PERMERROR, detail);
    }

    static CheckHostError temperror(String detail) {
        return new CheckHostError(SpfResult.TEMPERROR, detail);
    }

    SpfResult result() {
        return result;
    }
}
