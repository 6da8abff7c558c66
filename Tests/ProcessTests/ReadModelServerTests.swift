import LedgerTestSupport
import Foundation
import PlatformSimulator
import Testing

/// Replicas projecting into Redis, MariaDB and the MongoDB-protocol server, and the operator's
/// `replay` and `verify` commands, all against the real servers.
@Suite(.serialized)
struct ReadModelServerTests {
    static let stores = ["redis", "mysql", "mongo"]

    static func environment(simulator: RunningSimulator, key: String) throws -> [String: String] {
        [
            "EVENTLOG_URL": try TestLogs.postgresURL(),
            "REDIS_URL": try TestEnvironment.required("TOKENLEDGER_TEST_REDIS_URL"),
            "MYSQL_URL": try TestEnvironment.required("TOKENLEDGER_TEST_MYSQL_URL"),
            "MONGO_URL": try TestEnvironment.required("TOKENLEDGER_TEST_MONGO_URL"),
            "PLATFORMS_WECHAT_BASE_URL": simulator.baseURL,
            "SECRETS_KEY": key,
            "EVENTLOG_POLL_INTERVAL_MS": "500",
        ]
    }

    /// The replicas that report leading `store` in their metrics.
    static func leaders(of store: String, among replicas: [ServerProcess]) async -> [ServerProcess] {
        var leaders: [ServerProcess] = []
        for replica in replicas where replica.process.isRunning {
            if let (_, text) = try? await HTTP.request("GET", replica.baseURL + "/metrics"),
                text.contains(#"tokenledger_projection_leader{readmodel="\#(store)"} 1"#)
            {
                leaders.append(replica)
            }
        }
        return leaders
    }

    /// What a plain `redis-cli` user reads.
    static func redisToken(_ key: String) throws -> String {
        let url = try #require(URLComponents(string: try TestEnvironment.required("TOKENLEDGER_TEST_REDIS_URL")))
        return try Command.output("/usr/bin/redis-cli", ["-p", String(url.port ?? 6379), "HGET", key, "token"])
    }

    /// What a plain `mariadb` client user reads.
    static func mysqlToken(project: String, appid: String) throws -> String {
        let url = try #require(URLComponents(string: try TestEnvironment.required("TOKENLEDGER_TEST_MYSQL_URL")))
        return try Command.output(
            "/usr/bin/mariadb",
            ["--no-defaults", "-uroot", "-h127.0.0.1", "-P\(url.port ?? 3306)", "--protocol=tcp", "-N", "-B", "tokenledger",
             "-e", "SELECT token FROM current_tokens WHERE project = '\(project)' AND appid = '\(appid)'"]
        )
    }

    @Test(.timeLimit(.minutes(4)))
    func replicasProjectIntoEveryStoreOneWritesAndAnotherTakesOverWhenItIsKilled() async throws {
        try await withSimulator { simulator in
            let environment = try Self.environment(simulator: simulator, key: TestEnvironment.secretsKey())
            let folder = NSTemporaryDirectory() + "tokenledger-rm-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            // Whatever earlier tests left in the stores: rebuilt from this log.
            for store in Self.stores {
                let (status, output) = try Command.run(["replay", "--readmodel", store], folder: folder, environment: environment)
                #expect(status == 0, "\(output)")
                #expect(output.contains("replayed \(store) from zero"))
            }

            let project = uniqueProject("rm")
            simulator.state.register(appid: "wx.rm:1", secret: "S")
            let replicas = try await (0..<2).asyncMap { index in
                try await ServerProcess.start(port: try TestEnvironment.freePort(), environment: environment, name: "rm\(index)")
            }
            defer { replicas.forEach { $0.stop() } }
            let path = "/token/\(project)/wechat/wx.rm:1"
            let first = try #require(try await HTTP.envelope("GET", replicas[0].baseURL + path + "?secret=S").envelope.data)
            let key = "tokenledger:\(project):wechat:wx.rm%3A1"  // ':' in an id is written %3A
            #expect(try await eventually(20) { try Self.redisToken(key) == first }, "a plain redis-cli reads the token")
            #expect(try await eventually(20) { try Self.mysqlToken(project: project, appid: "wx.rm:1") == first })

            let verified = try Command.run(["verify"], folder: folder, environment: environment)
            #expect(verified.status == 0, "\(verified.output)")
            for store in Self.stores { #expect(verified.output.contains("\(store): matches the log"), "\(verified.output)") }

            // One writer per store, whatever the number of replicas.
            for store in Self.stores {
                #expect(await eventually(20) { await Self.leaders(of: store, among: replicas).count == 1 }, "\(store) has one leader")
            }
            let writer = try #require(await Self.leaders(of: "redis", among: replicas).first)
            let (_, exported) = try await HTTP.request("GET", writer.baseURL + "/metrics")
            #expect(exported.contains(#"tokenledger_projection_lag_events{readmodel="redis"} 0"#), "caught up: no lag")
            #expect(exported.contains(#"tokenledger_projection_checkpoint{readmodel="mysql"}"#))
            let survivor = try #require(replicas.first { $0 !== writer })
            writer.kill()
            #expect(await eventually(20) { await Self.leaders(of: "redis", among: [survivor]).count == 1 }, "the survivor takes Redis over")

            let (status, refreshed, _) = try await HTTP.envelope("PUT", survivor.baseURL + path)
            #expect(status == 200)
            let second = try #require(refreshed.data)
            #expect(second != first)
            #expect(try await eventually(20) { try Self.redisToken(key) == second })
            #expect(try await eventually(20) { try Self.mysqlToken(project: project, appid: "wx.rm:1") == second })
            let after = try Command.run(["verify"], folder: folder, environment: environment)
            #expect(after.status == 0, "\(after.output)")
            #expect(survivor.stop() == 0, "SIGTERM with stores configured drains and exits 0")
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func aConfiguredStoreThatCannotBeReachedStopsTheStartWithAClearMessage() async throws {
        let folder = NSTemporaryDirectory() + "tokenledger-rm-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let unreachable = try Command.run(["serve"], folder: folder, environment: ["REDIS_URL": "redis://:pw@127.0.0.1:1/0", "HTTP_PORT": "0"])
        // 1, not a crash: the embedded log's file is closed by its service even when the start fails.
        #expect(unreachable.status == 1, "\(unreachable.output)")
        #expect(unreachable.output.contains("the redis read model at redis://:***@127.0.0.1:1/0 cannot be used"), "\(unreachable.output)")
        #expect(!unreachable.output.contains(":pw@"))

        let unset = try Command.run(["serve"], folder: folder, environment: ["READMODELS": "memory,mysql", "HTTP_PORT": "0"])
        #expect(unset.status != 0)
        #expect(unset.output.contains("readmodels names mysql but mysql.url is not set"), "\(unset.output)")

        let unknown = try Command.run(["verify", "--readmodel", "cassandra"], folder: folder, environment: ["READMODELS": "memory,cassandra"])
        #expect(unknown.status != 0)
        #expect(unknown.output.contains("unknown read model 'cassandra'"), "\(unknown.output)")
    }
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var values: [T] = []
        for element in self { values.append(try await transform(element)) }
        return values
    }
}
