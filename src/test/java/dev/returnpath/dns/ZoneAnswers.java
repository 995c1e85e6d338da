package dev.returnpath.dns;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import org.xbill.DNS.Flags;
import org.xbill.DNS.HINFORecord;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.RRset;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.SetResponse;
import org.xbill.DNS.Type;
import org.xbill.DNS.Zone;

/**
 * Answers DNS queries from {@link Zone}s loaded from master files, as an authoritative server
 * would; shared by {@link ZoneResolver} (no sockets) and {@link UdpZoneServer} (loopback UDP).
 *
 * <p>Test zones may mark a name with a HINFO record to simulate trouble for every type that has no
 * data at that name: {@code HINFO "TIMEOUT" ""} makes the query time out and
 * {@code HINFO "SERVFAIL" ""} answers SERVFAIL (the RFC 7208 test suite's TIMEOUT entries).
 */
public final class ZoneAnswers {
    /** What to do with one query. */
    public sealed interface Reply {
        record Answer(Message message) implements Reply {}

        record Timeout() implements Reply {}
    }

    private final List<Zone> zones;

    public ZoneAnswers(List<Zone> zones) {
        this.zones = List.copyOf(zones);
    }

    /** Loads a master file from the test classpath with origin "." (so every name in it is absolute). */
    public static Zone rootZone(String resource) {
        try (InputStream in = ZoneAnswers.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalArgumentException("no test resource " + resource);
            }
            return new Zone(Name.root, in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public Reply answer(Message query) {
        Record question = query.getQuestion();
        Message response = new Message(query.getHeader().getID());
        response.getHeader().setFlag(Flags.QR);
        response.getHeader().setFlag(Flags.AA);
        if (query.getHeader().getFlag(Flags.RD)) {
            response.getHeader().setFlag(Flags.RD);
            response.getHeader().setFlag(Flags.RA);
        }
        if (question == null) {
            response.getHeader().setRcode(Rcode.FORMERR);
            return new Reply.Answer(response);
        }
        response.addRecord(question, Section.QUESTION);
        Name name = question.getName();
        int type = question.getType();
        Zone zone = zoneFor(name);
        if (zone == null) {
            response.getHeader().setRcode(Rcode.REFUSED);
            return new Reply.Answer(response);
        }
        SetResponse found = zone.findRecords(name, type);
        if (!found.isSuccessful() && !found.isCNAME()) {
            RRset marker = zone.findExactMatch(name, Type.HINFO);
            if (marker != null && type != Type.HINFO) {
                String what = ((HINFORecord) marker.first()).getCPU();
                if (what.equals("TIMEOUT")) {
                    return new Reply.Timeout();
                }
                if (what.equals("SERVFAIL")) {
                    response.getHeader().setRcode(Rcode.SERVFAIL);
                    return new Reply.Answer(response);
                }
            }
        }
        if (found.isSuccessful()) {
            for (RRset rrset : found.answers()) {
                for (Record r : rrset.rrs(false)) {
                    response.addRecord(r, Section.ANSWER);
                }
            }
        } else if (found.isCNAME()) {
            response.addRecord(found.getCNAME(), Section.ANSWER); // the client follows the alias
        } else if (found.isNXDOMAIN() || found.isNXRRSET()) {
            if (found.isNXDOMAIN()) {
                response.getHeader().setRcode(Rcode.NXDOMAIN);
            }
            response.addRecord(zone.getSOA(), Section.AUTHORITY); // RFC 2308 negative answer
        } else {
            response.getHeader().setRcode(Rcode.SERVFAIL);
        }
        return new Reply.Answer(response);
    }

    private Zone zoneFor(Name name) {
        Zone best = null;
        for (Zone zone : zones) {
            if (name.subdomain(zone.getOrigin())
                    && (best == null || zone.getOrigin().labels() > best.getOrigin().labels())) {
                best = zone;
            }
        }
        return best;
    }

    /** Every owner name in the zones, for diagnostics. */
    public List<Name> names() {
        List<Name> out = new ArrayList<>();
        for (Zone zone : zones) {
            for (RRset rrset : zone) {
                out.add(rrset.getName());
            }
        }
        return out;
    }
}
