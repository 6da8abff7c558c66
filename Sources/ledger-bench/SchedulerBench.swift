import ArgumentParser
import AsyncHTTPClient
import Foundation
import Logging
import PlatformSimulator
import Platforms
import Synchronization
import TokenLedger

/// `ledger-bench`: benchmarks of the domain that need no server, run by hand with a release build.
@main
struct LedgerBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger-bench",
        abstract: "Benchmarks: the scheduler (memory per app, idle tick, a burst of due apps); replay into the read models; the stores' writes alone; watchers across replicas; key rotation's reseal; pighand-token's import.",
        subcommands: [SchedulerBench.self, ReplayBench.self, StoreWriteBench.self, WatchBench.self, ResealBench.self, ImportBench.self],
        defaultSubcommand: SchedulerBench.self
    )
}

/// 100,000 registered apps in the memory model; a tick with nothing due; then a burst of due apps
/// renewed through the WeChat client against the simulator over HTTP.
struct SchedulerBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "scheduler")

    @Option var apps = 100_000
    @Option var due = 10_000
    @Option var concurrency = 16

    func run() async throws {
        let logger = Logger(label: "bench")
        let sealer = try Sealer(current: "k", keys: ["k": Sealer.generateKey()])
        let log = InMemoryEventLog()
        let start = Date(timeIntervalSince1970: 2_000_000_000)
        let clock = Mutex(start)
        let now: @Sendable () -> Date = { clock.withLock { $0 } }
        let state = SimulatorState()
        try await PlatformSimulatorServer.withRunning(state: state) { simulator in

            print("appending \(apps) apps (credentials + token each)…")
            for index in 0..<apps {
                let stream = try StreamID(project: "bench", platform: "wechat", appid: "wx\(index)")
                state.register(appid: stream.appid, secret: "s\(index)")
                // The first `due` apps expire 1,000 s after start, the rest a day later.
                let expires = start.addingTimeInterval(index < due ? 1_000 : 86_400)
                let metadata = EventMetadata(node: "bench")
                _ = try await log.append(
                    [
                        try NewEvent(CredentialsSet(secret: try sealer.seal("s\(index)", for: stream, as: .secret)), metadata: metadata),
                        try NewEvent(TokenIssued(token: try sealer.seal("t\(index)", for: stream, as: .token), expiresAt: expires, reason: .miss, upstreamLatencyMs: 0), metadata: metadata),
                    ],
                    to: stream,
                    expectedVersion: 0
                )
            }
            let model = MemoryReadModel(sealer: sealer)
            let projector = Projector(log: log, model: model, logger: logger)
            let before = Self.residentBytes()
            let caughtUp = try await Self.time { try await projector.catchUp() }
            let after = Self.residentBytes()
            print(String(format: "memory model: %d apps folded in %.2f s, %.0f bytes resident per app", apps, caughtUp, Double(after - before) / Double(apps)))

            let platforms = PlatformRegistry.make(baseURLs: ["wechat": simulator.baseURL], httpClient: .shared, timeout: .seconds(10))
            let ledger = Ledger(log: log, projector: projector, platforms: platforms, sealer: sealer, options: .init(node: "bench"), logger: logger, now: now)
            let refresher = RefreshScheduler(
                ledger: ledger,
                options: .init(interval: .seconds(60), policy: .init(lead: 120, jitter: 10), concurrency: concurrency),
                logger: logger
            )
            let firstPlan = try await Self.time { await refresher.tick() }
            print(String(format: "first tick (plans all %d apps into the heap): %.1f ms", apps, firstPlan * 1000))
            var idle: [Double] = []
            for _ in 0..<20 { idle.append(try await Self.time { await refresher.tick() }) }
            print(String(format: "tick with nothing due: median %.1f µs over 20", idle.sorted()[10] * 1_000_000))

            // The due apps come due when they stop being fresh (WeChat stable tokens: when WeChat rotates them).
            clock.withLock { $0 = start.addingTimeInterval(1_000 - 300 + 1) }
            let attempted = Mutex(0)
            let burst = try await Self.time { attempted.withLock { $0 = 0 }; let count = await refresher.tick(); attempted.withLock { $0 = count } }
            let count = attempted.withLock { $0 }
            print(String(format: "burst: %d due apps renewed in %.2f s (%.0f/s, concurrency %d per platform), upstream calls %d",
                count, burst, Double(count) / burst, concurrency, state.totalCalls()))
            let idleAfter = try await Self.time { await refresher.tick() }
            print(String(format: "next tick (re-plans the %d renewed apps): %.1f ms", count, idleAfter * 1000))
        }
    }

    static func time(_ body: () async throws -> Void) async throws -> Double {
        let clock = ContinuousClock()
        let elapsed = try await clock.measure { try await body() }
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    static func residentBytes() -> Int {
        guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = statm.split(separator: " ")
        return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
    }
}
