#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOCore
import PostgresNIO
public import TokenLedger

/// Reading pages of events: a replay reads every event of the log, so each row is decoded cell by
/// cell (no tuple decoding, whose generic metadata cost more than the cells), `data` is taken as
/// bytes, and `recorded_at` as the server's binary timestamp rather than computed on the server.
extension PostgresEventLog {
    static let columns = "position, project, platform, appid, version, type, data::text, metadata::text, recorded_at"

    /// Microseconds from 1970 to PostgreSQL's epoch, 2000-01-01.
    private static let postgresEpoch: Int64 = 946_684_800_000_000

    static func decode(_ rows: PostgresRowSequence) async throws -> [RecordedEvent] {
        var events: [RecordedEvent] = []
        for try await row in rows {
            var cells = row.makeIterator()
            func next() throws -> PostgresCell {
                guard let cell = cells.next() else { throw LedgerError(.corruptEvent, "an event row has too few columns") }
                return cell
            }
            let position = try next().decode(Int64.self)
            let (project, platform, appid) = (try next().decode(String.self), try next().decode(String.self), try next().decode(String.self))
            let version = try next().decode(Int64.self)
            let type = try next().decode(String.self)
            guard let eventType = EventType(rawValue: type) else {
                throw LedgerError(.corruptEvent, "event \(position) has unknown type '\(type)'")
            }
            let data = Data(try bytes(of: next(), position: position).readableBytesView)
            let metadata = Data(try bytes(of: next(), position: position).readableBytesView)
            events.append(
                RecordedEvent(
                    position: position,
                    stream: try StreamID(project: project, platform: platform, appid: appid),
                    version: version,
                    type: eventType,
                    data: data,
                    metadata: try EventCoding.decode(EventMetadata.self, from: metadata, position: position),
                    recordedAt: Date(timeIntervalSince1970: Double(try milliseconds(of: next(), position: position)) / 1000)
                )
            )
        }
        return events
    }

    public func lastTokenEventPositions(after position: Int64) async throws -> (positions: [Int64], head: Int64) {
        let types = EventType.allCases.filter(\.decidesServedToken).map(\.rawValue)
        return try await guarded("read the last token events") {
            // One statement, one snapshot: the head is its last committed position (appends take
            // positions under the append lock, so none below it can still commit), and only
            // positions and streams are read: no payload is read or converted.
            let rows = try await self.client.query(
                """
                WITH head AS (SELECT coalesce(max(position), 0) AS position FROM token_events)
                SELECT head.position, ARRAY(
                    SELECT max(e.position) FROM token_events e
                    WHERE e.position > \(position) AND e.position <= head.position AND e.type = ANY(\(types))
                    GROUP BY e.project, e.platform, e.appid
                ) FROM head
                """,
                logger: self.logger
            )
            for try await (head, positions) in rows.decode((Int64, [Int64]).self) {
                // Sorted here: PostgreSQL would sort the rows it grouped, in its work memory or on disk.
                return (positions.sorted(), max(head, position))
            }
            return ([], position)
        }
    }

    public func readEvents(at positions: [Int64]) async throws -> [RecordedEvent] {
        guard let first = positions.first, let last = positions.last else { return [] }
        return try await guarded("read events") {
            // Positions that nearly fill their span (a range where most streams have one token) are
            // read as that range, as `readAll` reads it, cheaper than as many lookups.
            if last - first < Int64(positions.count) + Int64(positions.count / 4) {
                let rows = try await self.client.query(
                    "SELECT \(unescaped: Self.columns) FROM token_events WHERE position >= \(first) AND position <= \(last) ORDER BY position",
                    logger: self.logger
                )
                let wanted = Set(positions)
                return try await Self.decode(rows).filter { wanted.contains($0.position) }
            }
            let rows = try await self.client.query(
                "SELECT \(unescaped: Self.columns) FROM token_events WHERE position = ANY(\(positions)) ORDER BY position",
                logger: self.logger
            )
            return try await Self.decode(rows)
        }
    }

    /// A text column's bytes (UTF-8 in both formats).
    private static func bytes(of cell: PostgresCell, position: Int64) throws -> ByteBuffer {
        guard let bytes = cell.bytes, cell.dataType == .text else {
            throw LedgerError(.corruptEvent, "event \(position) has no \(cell.columnName)")
        }
        return bytes
    }

    /// `recorded_at` in whole milliseconds, rounded as `(extract(epoch FROM recorded_at) * 1000)::bigint`
    /// rounds (half away from zero), which is what appends answer.
    private static func milliseconds(of cell: PostgresCell, position: Int64) throws -> Int64 {
        guard cell.dataType == .timestamptz, cell.format == .binary, let bytes = cell.bytes, bytes.readableBytes == 8,
            let raw = bytes.getInteger(at: bytes.readerIndex, as: Int64.self),
            case (let microseconds, false) = raw.addingReportingOverflow(postgresEpoch)  // not ±infinity
        else {
            throw LedgerError(.corruptEvent, "event \(position) has no readable recorded_at")
        }
        return microseconds >= 0 ? (microseconds + 500) / 1000 : (microseconds - 500) / 1000
    }
}
