package dev.returnpath.ops;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@link Json#parse} reads what an independent parser (Jackson) reads, and refuses what RFC 8259 refuses. */
class JsonParseTest {
    static final ObjectMapper JACKSON = new ObjectMapper();

    @ParameterizedTest
    @ValueSource(strings = {
            "{\"token_type\":\"Bearer\",\"expires_in\":3599,\"ext_expires_in\":3599,\"access_token\":\"eyJ0eXAi.x-y_z\"}",
            "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000215: Invalid client secret.\\r\\nTrace ID: 1\",\"error_codes\":[7000215]}",
            " [ 1, -2, 0, 3.5, -1e3, 2E+2, true, false, null, \"\\u00e9\\ud83d\\ude00\\/\\\\\\\"\", {}, [] ] ",
            "{\"a\":{\"b\":{\"c\":[{\"d\":\"\"}]}}}",
            "\"just a string\"",
    })
    void readsWhatJacksonReads(String json) throws Exception {
        assertThat(normal(Json.parse(json))).isEqualTo(normal(JACKSON.readValue(json, Object.class)));
    }

    /** Numbers compared by value: Jackson gives Integer where we give Long. */
    private static Object normal(Object v) {
        return switch (v) {
            case Map<?, ?> m -> m.entrySet().stream().collect(java.util.stream.Collectors.toMap(
                    e -> e.getKey(), e -> java.util.Objects.requireNonNullElse(normal(e.getValue()), "null")));
            case List<?> l -> l.stream().map(x -> java.util.Objects.requireNonNullElse(normal(x), "null")).toList();
            case Number n -> n.doubleValue();
            case null -> null;
            default -> v;
        };
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "{", "{\"a\":1,}", "[1,]", "{'a':1}", "01", "1.", "tru", "\"a\" x", "\"tab\there\"",
            "{\"a\" 1}", "[1 2]", "\"\\x\"", "\"\\u12\"", "// comment\n1"})
    void refusesWhatIsNotJson(String text) {
        assertThatThrownBy(() -> Json.parse(text)).isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("not JSON: ");
    }

    @org.junit.jupiter.api.Test
    void refusesNestingPastTheBoundWithoutQuotingTheInput() {
        String deep = "[".repeat(Json.MAX_DEPTH + 2) + "\"s3cret\"" + "]".repeat(Json.MAX_DEPTH + 2);
        assertThatThrownBy(() -> Json.parse(deep)).hasMessageContaining("nested deeper than " + Json.MAX_DEPTH)
                .hasMessageNotContaining("s3cret");
        assertThat(Json.parse("[".repeat(Json.MAX_DEPTH) + "]".repeat(Json.MAX_DEPTH))).isInstanceOf(List.class);
    }
}
