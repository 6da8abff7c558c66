import Foundation
import LedgerPostgres
import LedgerTestSupport
import Logging
import PostgresNIO
import Testing
import TokenLedger

/// Reading pages decodes each row cell by cell: what it reads is what the append answered, and
/// rows written by other hands (an older release, an operator) read as the server sees them.
@Suite(.serialized)
struct PostgresReadTests {
    @Test func readEventsAreTheAppendedOnes() async throws {
        try await PostgresEventLogTests.withLog { log in
            let stream = try PostgresEventLogTests.stream()
            let metadata = EventMetadata(node: "n1", requestID: "req-1", actor: "key:ops")
            let appended = try await log.append(
                [EventLogConformance.event(), try NewEvent(TokenRevoked(reason: "leaked"), metadata: metadata)],
                to: stream, expectedVersion: 0
            )
            // The payload comes back as `jsonb` writes it (its spacing): compared decoded.
            func same(_ read: [RecordedEvent]) throws -> Bool {
                guard try read.last?.decode(TokenRevoked.self) == TokenRevoked(reason: "leaked") else { return false }
                var read = read
                for index in read.indices where index < appended.count { read[index].data = appended[index].data }
                return read == appended
            }
            #expect(try same(await log.read(stream: stream, afterVersion: 0, limit: 10)))
            let first = try #require(appended.first)
            #expect(try same(await log.readAll(after: first.position - 1, limit: 2)))
        }
    }

    /// `recorded_at` is read as the server's timestamp and rounded to the millisecond as
    /// `(extract(epoch FROM recorded_at) * 1000)::bigint` rounds; metadata the fast reader leaves
    /// to `JSONDecoder` (an escape, text outside ASCII) still reads.
    @Test func rowsWrittenByOtherHandsReadAsTheServerSeesThem() async throws {
        try await PostgresEventLogTests.withLog { log in
            let stream = try PostgresEventLogTests.stream()
            let times = ["2026-01-01 00:00:00.0015+00", "2026-01-01 00:00:00.0024+00", "1969-12-31 23:59:59.9985+00", "2026-05-05 12:34:56.789+08"]
            let expected = try await PostgresEventLogTests.withRawConnection { connection in
                var expected: [Int64] = []
                for (index, time) in times.enumerated() {
                    let metadata = index % 2 == 0 ? #"{"node": "n\u00e9", "actor": "k\"1"}"# : #"{"node":"nœud","request_id":null}"#
                    let rows = try await connection.query(
                        """
                        INSERT INTO token_events (project, platform, appid, version, type, data, metadata, recorded_at)
                        VALUES (\(stream.project), \(stream.platform), \(stream.appid), \(Int64(index + 1)), 'token.revoked',
                                '{"reason": "r"}'::jsonb, \(metadata)::jsonb, \(time)::timestamptz)
                        RETURNING (extract(epoch FROM recorded_at) * 1000)::bigint
                        """,
                        logger: Logger(label: "raw")
                    )
                    for try await milliseconds in rows.decode(Int64.self) { expected.append(milliseconds) }
                }
                return expected
            }
            let events = try await log.read(stream: stream, afterVersion: 0, limit: 10)
            #expect(events.map { Int64(($0.recordedAt.timeIntervalSince1970 * 1000).rounded()) } == expected)
            #expect(events.map(\.metadata) == [0, 1, 2, 3].map {
                $0 % 2 == 0 ? EventMetadata(node: "né", actor: "k\"1") : EventMetadata(node: "nœud")
            })
            #expect(try events.map { try $0.decode(TokenRevoked.self) } == Array(repeating: TokenRevoked(reason: "r"), count: 4))
        }
    }
}
