import Foundation
import Hummingbird
import HTTPTypes
import NIOCore
import ServiceLifecycle
import TokenLedger

/// A `text/event-stream` answer (Server-Sent Events) fed by a `FeedWatch`: the first messages,
/// then those rendered from each batch of events, a comment as heartbeat when nothing was sent
/// for `WatchOptions.heartbeat`. It ends after `limit` messages, at its deadline, when the
/// server shuts down gracefully (SIGTERM), or when the client is gone (a write fails).
struct EventStream: Sendable {
    /// One message: `id` (its log position), `event` (its name), `data` (one line of JSON).
    struct Message: Sendable, Equatable {
        var id: Int64
        var event: String
        var data: String

        var text: String { "id: \(id)\nevent: \(event)\ndata: \(data)\n\n" }
    }

    /// When the caller wants the stream to end (`?limit=`, `?timeout=`).
    struct End: Sendable {
        /// Messages (heartbeats aside) after which the stream ends.
        var limit: Int?
        /// How long the stream stays open at most.
        var duration: Duration?
    }

    static let contentType = "text/event-stream"
    static let lastEventIDField = HTTPField.Name("Last-Event-ID")!

    let first: [Message]
    let watch: FeedWatch
    let options: WatchOptions
    let end: End
    let render: @Sendable ([RecordedEvent]) -> [Message]

    /// The streaming response.
    func response() -> Response {
        var headers: HTTPFields = [.contentType: Self.contentType, .cacheControl: "no-cache"]
        // Tells a buffering reverse proxy (nginx) to pass each message on at once.
        headers[HTTPField.Name("X-Accel-Buffering")!] = "no"
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            try await withGracefulShutdownHandler {
                try await run(&writer)
            } onGracefulShutdown: { [watch] in
                watch.stop()
            }
            try await writer.finish(nil)
        })
    }

    private func run(_ writer: inout any ResponseBodyWriter) async throws {
        let clock = ContinuousClock()
        let deadline = [end.duration, options.maxDuration].compactMap { $0 }.min().map { clock.now.advanced(by: $0) }
        var left = end.limit ?? Int.max
        for message in first.prefix(left) {
            try await writer.write(ByteBuffer(string: message.text))
            left -= 1
        }
        while left > 0 {
            let wait = deadline.map { min(options.heartbeat, clock.now.duration(to: $0)) } ?? options.heartbeat
            guard wait > .zero, let events = try await watch.next(within: wait) else { return }
            if events.isEmpty {
                if let deadline, clock.now >= deadline { return }
                try await writer.write(ByteBuffer(string: ": heartbeat\n\n"))
                continue
            }
            let messages = render(events).prefix(left)
            guard !messages.isEmpty else { continue }
            try await writer.write(ByteBuffer(string: messages.map(\.text).joined()))
            left -= messages.count
        }
    }

    /// `Last-Event-ID`, if sent: a log position.
    static func lastEventID(_ request: Request) throws -> Int64? {
        guard let text = request.headers[lastEventIDField] else { return nil }
        guard let position = Int64(text.trimmingCharacters(in: .whitespaces)), position >= 0 else {
            throw LedgerError(.invalidInput, "Last-Event-ID must be a log position (a non-negative integer)")
        }
        return position
    }

    /// `?limit=` (1…10000) and `?timeout=` (seconds, 1…86400).
    static func end(_ request: Request) throws -> End {
        let query = request.uri.queryParameters
        let limit = try query.get("limit").map { try TokenController.integer($0, name: "limit", default: 0, range: 1...10_000) }
        let timeout = try query.get("timeout").map { try TokenController.integer($0, name: "timeout", default: 0, range: 1...86_400) }
        return End(limit: limit.map { Int($0) }, duration: timeout.map { .seconds($0) })
    }

    /// One line of JSON (sorted keys, slashes as they are).
    static func json(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}
