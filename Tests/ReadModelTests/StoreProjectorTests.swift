import Foundation
import LedgerPostgres
import LedgerTestSupport
import Logging
import Synchronization
import Testing
import TokenLedger

/// Store projectors against the real PostgreSQL log and the real stores.
@Suite(.serialized)
struct StoreProjectorTests {
    static func projector(_ model: any ReadModel, _ log: PostgresEventLog, wakes: WakeSignal = WakeSignal()) -> StoreProjector {
        StoreProjector(
            model: model,
            log: log,
            election: log,
            sealer: Stores.sealer,
            wakes: wakes,
            pollInterval: .milliseconds(200),
            logger: Logger(label: "projector")
        )
    }

    static func head(_ log: any EventLog) async throws -> Int64 {
        var head: Int64 = 0
        while let last = try await log.readAll(after: head, limit: 10_000).last { head = last.position }
        return head
    }

    /// Streams with a first token each, the model emptied, and a running projector that has
    /// projected them (the caller cancels `running`).
    static func following(
        _ model: any ReadModel,
        _ log: PostgresEventLog,
        tag: String,
        count: Int
    ) async throws -> (streams: [StreamID], projector: StoreProjector, running: Task<Void, any Error>) {
        try await model.reset()
        let streams = try (0..<count).map { try Stores.stream("\(tag)\($0)") }
        for (index, stream) in streams.enumerated() { try await Stores.issue(log, stream, token: "before-\(index)") }
        let projector = Self.projector(model, log)
        let running = Task { try await projector.run() }
        let head = try await Self.head(log)
        #expect(await eventually { (try? await model.checkpoint()) ?? 0 >= head })
        return (streams, projector, running)
    }

    /// Nothing lost, exactly: once the store's checkpoint is the log's head (not merely past some
    /// position), every stream's row holds the token the log makes current, written by the very
    /// event that made it current.
    static func expectExactly(_ model: any ReadModel, _ log: any EventLog, _ streams: [StreamID], wait seconds: Double = 15) async throws {
        let head = try await Self.head(log)
        #expect(await eventually(seconds) { (try? await model.checkpoint()) == head }, "the store's checkpoint is the log's head, \(head)")
        #expect(try await model.checkpoint() == head)
        for stream in streams {
            let events = try await log.read(stream: stream, afterVersion: 0, limit: 10_000)
            let current = ReadModelRow.rows(for: events, sealer: Stores.sealer).last
            let stored = try await model.row(of: stream).row
            #expect(stored?.token == current?.token, "\(stream): the store holds the log's current token")
            if let current, current.token != nil {
                #expect(stored?.position == current.position, "\(stream): written by the event that made it current")
            }
        }
    }

    /// What the log takes while a store is away: a new token for every stream, then the first one revoked.
    static func keepAppending(_ log: any EventLog, _ streams: [StreamID]) async throws {
        for (index, stream) in streams.enumerated() { try await Stores.issue(log, stream, token: "during-\(index)") }
        try await Stores.revoke(log, streams[0])
    }

    @Test(.timeLimit(.minutes(2)), arguments: Stores.names)
    func aStoreThatGoesDownCatchesUpFromItsCheckpointWithNothingLost(_ name: String) async throws {
        let proxy = try TCPProxy(to: try Stores.port(name))
        let model = try await Stores.model(name, url: try Stores.url(name, port: proxy.port), timeout: .milliseconds(500))
        try await Stores.withLog { log in
            try await model.prepare()
            let (streams, projector, running) = try await Self.following(model, log, tag: "o", count: 4)
            defer { running.cancel() }

            proxy.cut()
            try await Self.keepAppending(log, streams)
            try await Task.sleep(for: .milliseconds(600))
            await #expect(throws: LedgerError.self) { _ = try await model.checkpoint() }
            proxy.restore()

            try await Self.expectExactly(model, log, streams)
            // The failed catch-ups are counted for the dashboard's cluster page, with the last reason.
            #expect(projector.failures.count >= 1 && projector.failures.lastReason != nil && projector.failures.lastAt != nil)
            #expect(try await model.row(of: streams[1]).row?.token == "during-1")
            #expect(try await model.row(of: streams[0]).row?.token == nil)
            let differences = try await projector.verify(wait: .seconds(5))
            #expect(differences.isEmpty, "\(differences)")

            // The store comes back empty (a Redis restarted without persistence): its checkpoint is
            // gone with its rows, so the projector rebuilds it from the start of the log.
            try await model.reset()
            try await Stores.issue(log, streams[2], token: "after-restart")
            try await Self.expectExactly(model, log, streams)
            #expect(try await model.row(of: streams[3]).row?.token == "during-3")
            #expect(try await model.row(of: streams[2]).row?.token == "after-restart")
            #expect(try await projector.verify(wait: .seconds(5)).isEmpty)
        }
    }

    /// Half-open: the store's sockets stay connected but no byte moves (no reset, no FIN). The
    /// projector must notice through its store timeout, and when bytes flow again, catch up.
    @Test(.timeLimit(.minutes(2)), arguments: Stores.names)
    func aStoreThatStopsAnsweringWithItsSocketsOpenCatchesUpWithNothingLost(_ name: String) async throws {
        let proxy = try TCPProxy(to: try Stores.port(name))
        let model = try await Stores.model(name, url: try Stores.url(name, port: proxy.port), timeout: .milliseconds(500))
        try await Stores.withLog { log in
            try await model.prepare()
            let (streams, projector, running) = try await Self.following(model, log, tag: "h", count: 4)
            defer { running.cancel() }

            proxy.pause()
            try await Self.keepAppending(log, streams)
            try await Task.sleep(for: .milliseconds(600))
            let started = ContinuousClock.now
            await #expect(throws: LedgerError.self) { _ = try await model.checkpoint() }
            #expect(ContinuousClock.now - started < .seconds(5), "a silent store is given up on at its timeout")
            try await Stores.issue(log, streams[3], token: "still-paused")
            proxy.resume()

            try await Self.expectExactly(model, log, streams, wait: 30)
            #expect(try await model.row(of: streams[3]).row?.token == "still-paused")
            #expect(try await model.row(of: streams[0]).row?.token == nil)
            let differences = try await projector.verify(wait: .seconds(5))
            #expect(differences.isEmpty, "\(differences)")
        }
    }

    @Test(.timeLimit(.minutes(3)), arguments: Stores.names)
    func aStoreKilledAndRestartedCatchesUpWithNothingLost(_ name: String) async throws {
        let service = name == "mysql" ? "mariadb" : name
        let model = try await Stores.model(name, timeout: .milliseconds(500))
        try await Stores.withLog { log in
            let (streams, projector, running) = try await Self.following(model, log, tag: "k", count: 3)
            defer { running.cancel() }

            // The server process dies (SIGKILL); the log keeps taking events meanwhile.
            try TestServers.services(["kill", service])
            try await Self.keepAppending(log, streams)
            await #expect(throws: LedgerError.self) { _ = try await model.checkpoint() }
            try TestServers.services(["start", service])

            // Redis comes back empty (no persistence here) and is rebuilt from the log; MariaDB
            // and the MongoDB-protocol server come back with their data and resume from their checkpoint.
            try await Self.expectExactly(model, log, streams, wait: 60)
            #expect(try await model.row(of: streams[1]).row?.token == "during-1")
            #expect(try await model.row(of: streams[0]).row?.token == nil)
            let differences = try await projector.verify(wait: .seconds(10))
            #expect(differences.isEmpty, "\(differences)")
        }
    }

    @Test(.timeLimit(.minutes(2)), arguments: Stores.names)
    func replayIntoAFlushedStoreRestoresEveryKeyAndRepairsForeignRows(_ name: String) async throws {
        let model = try await Stores.model(name)
        try await Stores.withLog { log in
            try await model.reset()
            let streams = try (0..<3).map { try Stores.stream("r\($0)") }
            for (index, stream) in streams.enumerated() { try await Stores.issue(log, stream, token: "token-\(index)") }
            let projector = Self.projector(model, log)
            try await projector.replay(from: nil)
            #expect(try await projector.verify(wait: .seconds(1)).isEmpty)

            // Flushed: every token is missing, and replay puts each back.
            try await model.reset()
            let flushed = try await projector.verify(wait: .zero)
            #expect(flushed.contains { $0.key == "checkpoint" })
            for stream in streams { #expect(flushed.contains { $0.key == stream.description && $0.problem.hasPrefix("missing") }) }
            try await projector.replay(from: nil)
            for (index, stream) in streams.enumerated() { #expect(try await model.row(of: stream).row?.token == "token-\(index)") }
            #expect(try await projector.verify(wait: .seconds(1)).isEmpty)

            // Rows nobody in this log wrote, and one from a log that was reset (newer than the head).
            let head = try await Self.head(log)
            let stranger = try Stores.stream("stranger")
            try await model.apply(
                [
                    ReadModelRow(stream: stranger, token: "planted", expiresAt: Date().addingTimeInterval(600), position: head),
                    ReadModelRow(stream: streams[1], token: "from-the-future", expiresAt: Date().addingTimeInterval(600), position: head + 1000),
                ],
                checkpoint: head + 1000
            )
            if name == "redis" { try Self.redisCLI(["SET", "tokenledger:x:y:z", "not a hash"]) }
            let found = try await projector.verify(wait: .zero)
            #expect(found.contains { $0.key == stranger.description && $0.problem.contains("no such stream") })
            #expect(found.contains { $0.key == streams[1].description && $0.problem.contains("newer than the log") })
            #expect(found.contains { $0.key == "checkpoint" && $0.problem.contains("ahead of the log") })
            if name == "redis" { #expect(found.contains { $0.key == "tokenledger:x:y:z" }) }
            try await projector.replay(from: nil)
            let repaired = try await projector.verify(wait: .seconds(1))
            #expect(repaired.isEmpty, "\(repaired)")
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func oneProjectorLeadsAtATimeAndAnotherTakesOverWhenItStops() async throws {
        let model = try await Stores.model("redis")
        try await Stores.withLog { log in
            try await model.reset()
            let first = Self.projector(model, log)
            let second = Self.projector(model, log)
            let firstRun = Task { try await first.run() }
            let secondRun = Task { try await second.run() }
            defer {
                firstRun.cancel()
                secondRun.cancel()
            }
            #expect(await eventually { first.isLeader || second.isLeader })
            // Sampled for two seconds: never both.
            for _ in 0..<40 {
                #expect(!(first.isLeader && second.isLeader))
                try await Task.sleep(for: .milliseconds(50))
            }
            let (leader, leaderRun, other) = first.isLeader ? (first, firstRun, second) : (second, secondRun, first)
            leaderRun.cancel()
            #expect(await eventually(10) { !leader.isLeader && other.isLeader })
            let stream = try Stores.stream("lead")
            try await Stores.issue(log, stream, token: "after-takeover")
            #expect(await eventually { (try? await model.row(of: stream).row?.token) == "after-takeover" })
        }
    }

    /// The leader does not stop: its backend is terminated (a failover, an operator, a network
    /// blip), so its session lock is gone while the process lives. Another projector (or the same
    /// one, reconnected) must lead, never two at once, and the store must keep being written.
    @Test(.timeLimit(.minutes(2)))
    func anotherProjectorLeadsWhenTheLeadersBackendIsTerminated() async throws {
        let model = try await Stores.model("redis")
        let url = try Stores.postgresURL()
        try await Stores.withLog { log in
            try await model.reset()
            let projectors = [Self.projector(model, log), Self.projector(model, log)]
            let runs = projectors.map { projector in Task { try await projector.run() } }
            defer { for run in runs { run.cancel() } }
            let leaders = { projectors.filter(\.isLeader).count }
            #expect(await eventually { leaders() == 1 })
            let stream = try Stores.stream("terminated")
            try await Stores.issue(log, stream, token: "before")
            #expect(await eventually { (try? await model.row(of: stream).row?.token) == "before" })

            let terminated = try await RawPostgres.terminateLeaders(url: url)
            try #require(terminated.contains(true), "the leader's backend was terminated: \(terminated)")
            // Sampled through the takeover, and for a second after a leader is back: never two
            // leaders (once the old one has stepped down, the lock is PostgreSQL's to give, once).
            var (sawNone, overlap) = (false, Duration.zero)
            var ledAgainSince: ContinuousClock.Instant?
            let deadline = ContinuousClock.now.advanced(by: .seconds(10))
            while ContinuousClock.now < deadline {
                let count = leaders()
                if count == 0 { sawNone = true }
                if count > 1 { overlap += .milliseconds(20) }
                if sawNone, count == 1, ledAgainSince == nil { ledAgainSince = .now }
                if let since = ledAgainSince, ContinuousClock.now - since > .seconds(1) { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(overlap == .zero, "two projectors led at once for about \(overlap)")
            #expect(sawNone, "the terminated leader noticed that it lost its lock")
            #expect(await eventually(10) { leaders() == 1 })
            #expect(try await RawPostgres.leaderCount(url: url) == 1, "one session holds the leadership lock")
            try await Stores.issue(log, stream, token: "after-termination")
            #expect(await eventually { (try? await model.row(of: stream).row?.token) == "after-termination" })
            try await Self.expectExactly(model, log, [stream])
        }
    }

    static func redisCLI(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/redis-cli")
        process.arguments = ["-p", String(try Stores.port("redis"))] + arguments
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
    }
}
