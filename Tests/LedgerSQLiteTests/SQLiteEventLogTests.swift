import Foundation
import LedgerSQLite
import LedgerTestSupport
import Logging
import Synchronization
import Testing
import TokenLedger

/// The embedded log: the same guarantees as the PostgreSQL one, on one file.
struct SQLiteEventLogTests {
    static func withLog<T: Sendable>(path: String? = nil, _ body: @Sendable (SQLiteEventLog, String) async throws -> T) async throws -> T {
        let path = path ?? NSTemporaryDirectory() + "ledger-\(UInt32.random(in: 0...UInt32.max))/ledger.sqlite"
        let log = try await SQLiteEventLog.open(path: path, logger: Logger(label: "test"))
        do {
            let value = try await body(log, path)
            try await log.close()
            return value
        } catch {
            try? await log.close()
            throw error
        }
    }

    /// Runs `sql` with the sqlite3 command-line tool on the file at `path` (a second writer,
    /// behind the log's back); returns its exit status and what it wrote to stderr.
    static func sqlite3(_ path: String, _ sql: String) throws -> (status: Int32, errors: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        process.arguments = [path, sql]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }

    var stream: StreamID { try! StreamID(project: "p", platform: "wechat", appid: "wx1") }

    @Test func appendsReadBackInOrderAndSurviveReopening() async throws {
        let stream = self.stream
        let path = try await Self.withLog { log, path in
            let first = try await log.append([EventLogConformance.event(node: "a"), EventLogConformance.event(node: "b")], to: stream, expectedVersion: 0)
            #expect(first.map(\.version) == [1, 2])
            #expect(first[1].position > first[0].position)
            let read = try await log.read(stream: stream, afterVersion: 0, limit: 10)
            #expect(read == first)
            #expect(try await log.readAll(after: first[0].position, limit: 10).map(\.position) == [first[1].position])
            return path
        }
        try await Self.withLog(path: path) { log, _ in
            let again = try await log.readAll(after: 0, limit: 10)
            #expect(again.map(\.metadata.node) == ["a", "b"])
        }
    }

    @Test func lastTokenEventsAreEachStreamsLast() async throws {
        try await Self.withLog { log, _ in try await EventLogConformance.lastTokenEventsAreEachStreamsLast(log, project: "conformance") }
    }

    @Test func conflictingAppendsLetExactlyOneWinAndLeaveNothingPartial() async throws {
        let stream = self.stream
        try await Self.withLog { log, _ in try await EventLogConformance.conflictingAppendsLetExactlyOneWin(log, stream: stream) }
    }

    @Test func followerUnderConcurrentAppendsSkipsNothing() async throws {
        try await Self.withLog { log, _ in
            let streams = try (0..<4).map { try StreamID(project: "p", platform: "wechat", appid: "wx\($0)") }
            try await EventLogConformance.followerUnderConcurrentAppendsSkipsNothing(log, streams: streams, writers: 8, appendsEach: 15)
        }
    }

    @Test func listenersWakeOnAppendAndRefreshLocksExclude() async throws {
        let stream = self.stream
        try await Self.withLog { log, _ in
            let wakes = Atomic<Int>(0)
            let listening = Task { try await log.listen { wakes.add(1, ordering: .relaxed) } }
            defer { listening.cancel() }
            try await Task.sleep(for: .milliseconds(50))
            let before = wakes.load(ordering: .relaxed)
            _ = try await log.append([EventLogConformance.event()], to: stream, expectedVersion: 0)
            let after = wakes.load(ordering: .relaxed)
            #expect(after > before)

            let probe = OverlapProbe()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<5 {
                    group.addTask {
                        try await log.withRefreshLock(on: stream) { _ in
                            probe.enter()
                            try await Task.sleep(for: .milliseconds(10))
                            probe.leave()
                        }
                    }
                }
                try await group.waitForAll()
            }
            let overlapped = probe.overlapped
            #expect(!overlapped)
        }
    }

    /// An append of two events whose second insert fails (a trigger planted behind the log's back
    /// aborts it after a slow check) rolls back: a reader polling all along never sees its first event.
    @Test(.timeLimit(.minutes(1)))
    func aReaderNeverSeesAnEventOfAnAppendThatRollsBack() async throws {
        let stream = self.stream
        try await Self.withLog { log, path in
            let committed = try await log.append([EventLogConformance.event()], to: stream, expectedVersion: 0)
            // The cross join keeps the failing insert busy (~1 s) while the first event is written.
            let (status, errors) = try Self.sqlite3(
                path,
                """
                CREATE TABLE slow (x INTEGER);
                WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 4000) INSERT INTO slow SELECT x FROM n;
                CREATE TRIGGER injected_failure BEFORE INSERT ON token_events WHEN NEW.metadata LIKE '%"poison"%'
                BEGIN SELECT RAISE(ABORT, 'injected failure') WHERE (SELECT count(*) FROM slow AS a, slow AS b) > 0; END;
                """
            )
            try #require(status == 0, "\(errors)")
            let done = Flag()
            let appending = Task {
                defer { done.set() }
                return try await log.append([EventLogConformance.event(node: "doomed"), EventLogConformance.event(node: "poison")], to: stream, expectedVersion: 1)
            }
            var reads = 0
            var seen: [RecordedEvent] = []
            repeat {
                seen += try await log.readAll(after: 0, limit: 10)
                seen += try await log.read(stream: stream, afterVersion: 0, limit: 10)
                reads += 1
            } while !done.isSet
            await #expect(throws: LedgerError.self) { _ = try await appending.value }
            #expect(reads > 1)
            #expect(!seen.contains { $0.metadata.node == "doomed" }, "a reader saw an event that was rolled back")
            #expect(try await log.readAll(after: 0, limit: 10) == committed)
        }
    }

    @Test func theTriggersRejectChangesMadeBehindTheLogsBack() async throws {
        let stream = self.stream
        try await Self.withLog { log, path in
            _ = try await log.append([EventLogConformance.event()], to: stream, expectedVersion: 0)
            for statement in ["UPDATE token_events SET type = 'x'", "DELETE FROM token_events"] {
                let (status, errors) = try Self.sqlite3(path, statement)
                #expect(status != 0, "\(statement)")
                #expect(errors.contains("append-only"))
            }
            #expect(try await log.readAll(after: 0, limit: 10).count == 1)
        }
    }
}

/// Records whether two bodies were ever inside at once.
final class OverlapProbe: Sendable {
    private let state = Mutex((inside: 0, overlapped: false))
    func enter() { state.withLock { $0.inside += 1; if $0.inside > 1 { $0.overlapped = true } } }
    func leave() { state.withLock { $0.inside -= 1 } }
    var overlapped: Bool { state.withLock { $0.overlapped } }
}

/// A flag one task sets and another polls.
final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }

    /// The embedded node keeps its memory snapshots in the log's file, and starts from the newest.
    @Test func snapshotsAreKeptInTheFileAndTheNodeStartsFromTheNewest() async throws {
        let sealer = try Sealer(current: "k1", keys: ["k1": Sealer.generateKey()])
        let streams = try (0..<3).map { try StreamID(project: "snap", platform: "wechat", appid: "wx\($0)") }
        let path = try await SQLiteEventLogTests.withLog { log, path in
            let model = MemoryReadModel(sealer: sealer)
            let projector = Projector(log: log, model: model, logger: Logger(label: "test"))
            var written: [Int64] = []
            for stream in streams {
                let issued = TokenIssued(
                    token: try sealer.seal("T-\(stream.appid)", for: stream, as: .token), expiresAt: Date().addingTimeInterval(7200), reason: .expired,
                    upstreamLatencyMs: 1
                )
                _ = try await log.append([try NewEvent(issued, metadata: EventMetadata(node: "n"))], to: stream, expectedVersion: 0)
                try await projector.catchUp()
                let snapshot = try MemorySnapshot.make(of: model, node: "n")
                try await log.saveMemorySnapshot(snapshot, keeping: 2)
                written.append(snapshot.position)
            }
            // The same position again replaces it; one past the head is never read.
            try await log.saveMemorySnapshot(try MemorySnapshot.make(of: model, node: "again"), keeping: 2)
            var ahead = try MemorySnapshot.make(of: model, node: "ahead")
            ahead.position += 10
            try await log.saveMemorySnapshot(ahead, keeping: 3)
            let newest = try #require(try await log.latestMemorySnapshot(withState: true))
            #expect(newest.position == written[2] && newest.node == "again" && !newest.state.isEmpty)
            #expect(try await log.latestMemorySnapshot(withState: false)?.state.isEmpty == true)
            return path
        }
        // Reopened, as at the node's next start.
        try await SQLiteEventLogTests.withLog(path: path) { log, _ in
            let model = MemoryReadModel(sealer: sealer)
            let projector = Projector(log: log, model: model, snapshots: log, logger: Logger(label: "test"))
            try await projector.catchUp()
            #expect(projector.restoredFrom != nil)
            #expect(model.state(of: streams[2])?.token?.value == "T-wx2")
            #expect(try await MemorySnapshot.differences(of: try #require(try await log.latestMemorySnapshot(withState: true)), in: log, sealer: sealer).isEmpty)
        }
    }
}
