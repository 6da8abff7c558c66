import AsyncHTTPClient
import Foundation
import Logging
import Platforms
import Testing
import TokenLedger

/// The read path of a replica whose memory model has not caught up yet (a restart).
@Suite(.serialized)
struct TieredReadTests {
    /// A ledger over the real log whose memory model never caught up, with the stores as tiers,
    /// and a WeChat client pointed at a port nobody listens on: any answer came from a tier.
    static func restartedLedger(_ log: any EventLog, tiers: [any ReadModel]) -> Ledger {
        let model = MemoryReadModel(sealer: Stores.sealer)
        let projector = Projector(log: log, model: model, logger: Logger(label: "memory"))
        return Ledger(
            log: log,
            projector: projector,
            platforms: ["wechat": WeChat(baseURL: "http://127.0.0.1:1", httpClient: HTTPClient.shared, timeout: .seconds(1))],
            tiers: tiers,
            sealer: Stores.sealer,
            options: Ledger.Options(node: "restarted"),
            logger: { var logger = Logger(label: "ledger"); logger.logLevel = .debug; return logger }()
        )
    }

    @Test(.timeLimit(.minutes(1)))
    func aReplicaCatchingUpServesFromTheFirstStoreThatHoldsAFreshToken() async throws {
        let redis = try await Stores.model("redis")
        let mysql = try await Stores.model("mysql")
        try await Stores.withLog { log in
            let stream = try Stores.stream("tier")
            let issued = try await Stores.issue(log, stream, token: "from-the-stores")
            for model in [redis, mysql] {
                try await model.reset()
                try await StoreProjectorTests.projector(model, log).replay(from: nil)
            }
            let ledger = Self.restartedLedger(log, tiers: [redis, mysql])
            #expect(!ledger.projector.isReady)
            let served = try await ledger.reader.token(for: stream, secret: nil, context: CallContext())
            #expect(served.token == "from-the-stores")
            #expect(served.position == issued.position)
            #expect(ledger.reader.reads(fromTier: "redis") == 1)

            // Redis lost the key: MySQL answers.
            try await redis.reset()
            _ = try await ledger.reader.token(for: stream, secret: nil, context: CallContext())
            #expect(ledger.reader.reads(fromTier: "mysql") == 1)

            // A caller who has seen a later position than the stores hold is not served from them:
            // the log answers (the token there is still fresh, so no platform call).
            let fromLog = try await ledger.reader.token(for: stream, secret: nil, context: CallContext(minPosition: issued.position + 1))
            #expect(fromLog.token == "from-the-stores")
            #expect(ledger.reader.reads(fromTier: "mysql") == 1)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aStoreThatIsDownIsSkippedForTheNextTier() async throws {
        let down = try await Stores.model("redis", url: "redis://127.0.0.1:1/0", timeout: .milliseconds(300))
        let mongo = try await Stores.model("mongo")
        try await Stores.withLog { log in
            let stream = try Stores.stream("down")
            try await Stores.issue(log, stream, token: "from-mongo")
            try await mongo.reset()
            try await StoreProjectorTests.projector(mongo, log).replay(from: nil)
            let ledger = Self.restartedLedger(log, tiers: [down, mongo])
            #expect(try await ledger.reader.token(for: stream, secret: nil, context: CallContext()).token == "from-mongo")
            #expect(ledger.reader.reads(fromTier: "mongo") == 1)
            #expect(ledger.reader.reads(fromTier: "redis") == 0)
        }
    }
}
