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

    @Test func theTriggersRejectChangesMadeBehindTheLogsBack() async throws {
        let stream = self.stream
        try await Self.withLog { log, path in
            _ = try await log.append([EventLogConformance.event()], to: stream, expectedVersion: 0)
            for statement in ["UPDATE token_events SET type = 'x'", "DELETE FROM token_events"] {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
                process.arguments = [path, statement]
                let errors = Pipe()
                process.standardError = errors
                try process.run()
                process.waitUntilExit()
                #expect(process.terminationStatus != 0, "\(statement)")
                #expect(String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).contains("append-only"))
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
