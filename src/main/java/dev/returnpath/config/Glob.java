package dev.returnpath.config;

import java.net.IDN;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * A pattern for addresses and domains in {@code returnpath.rules}: {@code *} matches any run of
 * characters (none included, dots and {@code @} included); every other character stands for
 * itself; matching ignores case. {@code *@*.internal} matches {@code apache@web01.internal};
 * {@code *.example.org} matches {@code lists.example.org} but not {@code example.org}.
 *
 * <p>Internationalized domain names are compared in their A-label (punycode) form, so that
 * {@code *@bücher.example} and {@code *@xn--bcher-kva.example} are the same pattern, and match
 * an address written either way. The null sender is the empty string; {@code "<>"} is accepted
 * as another way to write it.
 */
public record Glob(String pattern, String normalized) {

    public static Glob of(String pattern) {
        String p = pattern.trim();
        if (p.equals("<>")) {
            p = "";
        }
        return new Glob(pattern.trim(), normalizeAddress(p));
    }

    public boolean matches(String subject) {
        return regex().matcher(normalizeAddress(subject)).matches();
    }

    private Pattern regex() {
        StringBuilder re = new StringBuilder();
        int start = 0;
        for (int i = 0; i < normalized.length(); i++) {
            if (normalized.charAt(i) == '*') {
                if (i > start) {
                    re.append(Pattern.quote(normalized.substring(start, i)));
                }
                re.append(".*");
                start = i + 1;
            }
        }
        if (start < normalized.length()) {
            re.append(Pattern.quote(normalized.substring(start)));
        }
        return Pattern.compile(re.toString(), Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE | Pattern.DOTALL);
    }

    /**
     * Lower case, with the domain (after the last {@code @}, or the whole string when there is
     * none) in A-label form, label by label; labels with a {@code *} are left as they are.
     */
    static String normalizeAddress(String s) {
        int at = s.lastIndexOf('@');
        String local = at < 0 ? "" : s.substring(0, at + 1);
        String domain = at < 0 ? s : s.substring(at + 1);
        StringBuilder out = new StringBuilder(local.toLowerCase(Locale.ROOT));
        String[] labels = domain.split("\\.", -1);
        for (int i = 0; i < labels.length; i++) {
            if (i > 0) {
                out.append('.');
            }
            out.append(aLabel(labels[i]));
        }
        return out.toString();
    }

    private static String aLabel(String label) {
        boolean ascii = label.chars().allMatch(c -> c < 0x80);
        if (ascii || label.indexOf('*') >= 0) {
            return label.toLowerCase(Locale.ROOT);
        }
        try {
            return IDN.toASCII(label, IDN.ALLOW_UNASSIGNED).toLowerCase(Locale.ROOT);
        } catch (IllegalArgumentException e) {
            return label.toLowerCase(Locale.ROOT);
        }
    }

    @Override
    public String toString() {
        return pattern;
    }
}
