import ArgumentParser
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import PostgresNIO
import Synchronization

/// Opens `--watchers` token watches on one replica, forces `--refreshes` refreshes on another,
/// and measures, for each, the time from the refreshing replica's answer until every watcher has
/// the new token; beside it, in the same run, the LISTEN/NOTIFY round trip of the PostgreSQL
/// server (one connection LISTENs, another NOTIFYs), which is the floor under any cross-replica push.
struct WatchBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "watch")

    @Option(help: "Base URL of the replica the watchers connect to.") var watchURL: String
    @Option(help: "Base URL of the replica that refreshes.") var refreshURL: String
    @Option(help: "The token path, e.g. /token/bench/wechat/wxbench (its secret registered).") var path: String
    @Option(help: "The PostgreSQL URL of the log, for the LISTEN/NOTIFY reference.") var postgres: String
    @Option var watchers = 1000
    @Option var refreshes = 50

    /// Per token: how many watchers have it, and when the last one got it.
    final class Arrivals: Sendable {
        let seen = Mutex<[String: (count: Int, last: ContinuousClock.Instant)]>([:])
        func record(_ token: String) {
            let now = ContinuousClock.now
            seen.withLock { $0[token, default: (0, now)].count += 1; $0[token]!.last = now }
        }
        func count(_ token: String) -> Int { seen.withLock { $0[token]?.count ?? 0 } }
        func last(_ token: String) -> ContinuousClock.Instant? { seen.withLock { $0[token]?.last } }
    }

    func run() async throws {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = watchers + 16
        configuration.timeout.connect = .seconds(30)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let arrivals = Arrivals()
        let watchers = self.watchers, watchURL = self.watchURL, path = self.path
        var figures: [Duration] = []
        var answers: [Duration] = []
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<watchers {
                group.addTask {
                    let response = try await client.execute(HTTPClientRequest(url: watchURL + path + "/watch"), timeout: .hours(1))
                    var text = ""
                    for try await chunk in response.body {
                        text += String(buffer: chunk)
                        while let end = text.range(of: "\n\n") {
                            let block = text[..<end.lowerBound]
                            text = String(text[end.upperBound...])
                            guard let line = block.split(separator: "\n").first(where: { $0.hasPrefix("data: ") }),
                                let object = try? JSONSerialization.jsonObject(with: Data(line.dropFirst(6).utf8)) as? [String: Any],
                                let token = object["token"] as? String
                            else { continue }
                            arrivals.record(token)
                        }
                    }
                }
            }
            let current = try await token("GET", client: client)
            try await waitFor { arrivals.count(current) == watchers }
            print("\(watchers) watchers open on \(watchURL), each with the current token")
            for _ in 0..<refreshes {
                let sent = ContinuousClock.now
                let token = try await token("PUT", client: client)
                let answered = ContinuousClock.now
                try await waitFor { arrivals.count(token) == watchers }
                figures.append(arrivals.last(token)! - answered)
                answers.append(answered - sent)
            }
            group.cancelAll()
        }
        try? await client.shutdown()
        print(Self.line("refresh answered on one replica → all \(watchers) watchers on the other have the token", figures))
        print(Self.line("(the PUT itself, platform call included)", answers))
        print(Self.line("LISTEN/NOTIFY round trip, same server", try await notifyRoundTrips(count: max(refreshes, 100))))
    }

    /// The token `method` answers on the refreshing replica (a PUT forces a refresh).
    func token(_ method: String, client: HTTPClient) async throws -> String {
        var request = HTTPClientRequest(url: refreshURL + path)
        request.method = .init(rawValue: method)
        if method == "PUT" { request.body = .bytes(ByteBuffer(string: "{}")) }
        let response = try await client.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 20)
        let object = try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]
        guard let token = object?["data"] as? String else { throw ValidationError("no token: \(String(buffer: body))") }
        return token
    }

    func waitFor(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while !condition() {
            guard ContinuousClock.now < deadline else { throw ValidationError("watchers did not all get the token within 60 s") }
            try await Task.sleep(for: .microseconds(200))
        }
    }

    /// NOTIFY on one connection, received by a LISTEN on another, `count` times.
    func notifyRoundTrips(count: Int) async throws -> [Duration] {
        guard let url = URLComponents(string: postgres), let host = url.host else { throw ValidationError("bad --postgres") }
        let configuration = PostgresConnection.Configuration(
            host: host, port: url.port ?? 5432, username: url.user ?? "postgres", password: url.password,
            database: url.path.count > 1 ? String(url.path.dropFirst()) : nil, tls: .disable
        )
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let listener = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        let notifier = try await PostgresConnection.connect(configuration: configuration, id: 2, logger: logger)
        var figures: [Duration] = []
        try await listener.listen(on: "tokenledger_bench") { notifications in
            var iterator = notifications.makeAsyncIterator()
            for _ in 0..<count {
                let sent = ContinuousClock.now
                try await notifier.query("NOTIFY tokenledger_bench", logger: logger)
                _ = try await iterator.next()
                figures.append(ContinuousClock.now - sent)
            }
        }
        try await listener.close()
        try await notifier.close()
        return figures
    }

    static func line(_ what: String, _ figures: [Duration]) -> String {
        let sorted = figures.sorted()
        func ms(_ duration: Duration) -> String { String(format: "%.2f ms", Double(duration / .microseconds(1)) / 1000) }
        let median = sorted[sorted.count / 2]
        let p99 = sorted[min(sorted.count - 1, Int((Double(sorted.count) * 0.99).rounded(.up)) - 1)]
        return "\(what): median \(ms(median)), p99 \(ms(p99)), max \(ms(sorted.last!)) (n=\(sorted.count))"
    }
}
