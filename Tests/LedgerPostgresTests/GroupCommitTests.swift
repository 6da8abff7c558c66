import Foundation
import LedgerPostgres
import LedgerTestSupport
import Logging
import PostgresNIO
import Testing
import TokenLedger

/// Group commit: appends waiting in one process share a transaction, each keeping its own version
/// check and its own answer.
@Suite(.serialized)
struct GroupCommitTests {
    static func streams(_ count: Int, tag: String = "gc") -> [StreamID] {
        let run = UInt32.random(in: 0...UInt32.max)
        return (0..<count).map { try! StreamID(project: "\(tag)\(run)", platform: "wechat", appid: "wx\($0)") }
    }

    /// Transactions committed in the test database so far.
    static func commits() async throws -> Int64 {
        try await PostgresEventLogTests.withRawConnection { connection in
            var count: Int64 = 0
            let rows = try await connection.query(
                "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()", logger: Logger(label: "raw")
            )
            for try await value in rows.decode(Int64.self) { count = value }
            return count
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func concurrentAppendsShareCommitsAndEachGetsItsOwnPositions() async throws {
        try await PostgresEventLogTests.withLog { log async throws in
            let streams = Self.streams(200)
            _ = try await log.readAll(after: 0, limit: 1)
            let before = try await Self.commits()
            let recorded = try await withThrowingTaskGroup(of: [RecordedEvent].self) { group in
                for stream in streams {
                    group.addTask { try await log.append([EventLogConformance.event(), EventLogConformance.event()], to: stream, expectedVersion: 0) }
                }
                return try await group.reduce(into: [[RecordedEvent]]()) { $0.append($1) }
            }
            // The statistics collector reports commits a moment later.
            try await Task.sleep(for: .milliseconds(700))
            let commits = try await Self.commits() - before
            #expect(recorded.count == 200 && recorded.allSatisfy { $0.map(\.version) == [1, 2] })
            // Each append's two events are adjacent: an append is never split or interleaved.
            #expect(recorded.allSatisfy { $0[1].position == $0[0].position + 1 })
            let positions = recorded.flatMap { $0.map(\.position) }
            #expect(Set(positions).count == 400)
            // Everything is in the log, in position order, as each append was told.
            let first = try #require(positions.min())
            let read = try await log.readAll(after: first - 1, limit: 1000).filter { $0.stream.project == streams[0].project }
            #expect(read.map(\.position) == positions.sorted())
            #expect(commits < 200, "200 appends took \(commits) commits: they were grouped")
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aConflictInABatchFailsThatAppendOnly() async throws {
        try await PostgresEventLogTests.withLog { log async throws in
            let streams = Self.streams(21)
            let contested = streams[0]
            let outcomes = await withTaskGroup(of: (Int, Result<[RecordedEvent], LedgerError>).self) { group in
                for index in 0..<40 {
                    group.addTask {
                        // Half the appends race for version 1 of one stream, half write streams of their own.
                        let stream = index % 2 == 0 ? contested : streams[1 + index / 2]
                        do {
                            return (index, .success(try await log.append([EventLogConformance.event()], to: stream, expectedVersion: 0)))
                        } catch let error as LedgerError {
                            return (index, .failure(error))
                        } catch {
                            return (index, .failure(LedgerError(.storeUnavailable, "\(error)")))
                        }
                    }
                }
                return await group.reduce(into: [Int: Result<[RecordedEvent], LedgerError>]()) { $0[$1.0] = $1.1 }
            }
            let racing = outcomes.filter { $0.key % 2 == 0 }.map(\.value)
            let own = outcomes.filter { $0.key % 2 == 1 }.map(\.value)
            let won = racing.filter { (try? $0.get()) != nil }.count
            let conflicts = racing.filter { result in
                guard case .failure(let error) = result else { return false }
                return error.code == .versionConflict
            }.count
            #expect(won == 1 && conflicts == racing.count - 1)
            let ownSucceeded = own.filter { (try? $0.get()) != nil }.count
            #expect(ownSucceeded == own.count)
            #expect(try await log.read(stream: contested, afterVersion: 0, limit: 10).count == 1)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func anAppendTheServerRefusesFailsAloneAndTheRestOfItsBatchCommits() async throws {
        try await PostgresEventLogTests.withLog { log async throws in
            let streams = Self.streams(30)
            // PostgreSQL refuses \u0000 in jsonb: that statement fails, which rolls back its whole
            // batch; the others are then committed without it.
            let poisoned = NewEvent(type: .refreshFailed, data: Data(#"{"code":"x\u0000"}"#.utf8), metadata: EventMetadata(node: "t", requestID: "r"))
            let outcomes = await withTaskGroup(of: (Int, Bool).self) { group in
                for (index, stream) in streams.enumerated() {
                    group.addTask {
                        let event = index == 7 ? poisoned : EventLogConformance.event()
                        return (index, (try? await log.append([event], to: stream, expectedVersion: 0)) != nil)
                    }
                }
                return await group.reduce(into: [Int: Bool]()) { $0[$1.0] = $1.1 }
            }
            #expect(outcomes[7] == false)
            let others = outcomes.filter { $0.key != 7 }
            #expect(others.values.filter { $0 }.count == streams.count - 1)
            for (index, stream) in streams.enumerated() {
                let stored = try await log.read(stream: stream, afterVersion: 0, limit: 10)
                #expect(stored.count == (index == 7 ? 0 : 1))
            }
        }
    }
}
