import ArgumentParser
import Foundation
import TokenLedger
import TokenApp

/// `tokenledger events`: the global log, filtered, tokens masked.
struct Events: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the log's events, tokens masked.")

    @OptionGroup var common: CommonOptions
    @Option(help: "Events after this position.") var after: Int64 = 0
    @Option(help: "At most this many events.") var limit: Int = 1000
    @Option(help: "Only this project.") var project: String?
    @Option(help: "Only this platform.") var platform: String?
    @Option(help: "Only this event type (e.g. token.refresh_failed).") var type: String?
    @Flag(help: "One JSON object per line.") var json = false

    func run() async throws {
        var filter = EventFilter(project: project, platform: platform)
        if let type {
            guard let eventType = EventType(rawValue: type) else { throw ValidationError("unknown event type \(type)") }
            filter.type = eventType
        }
        let configuration = try await Runtime.configuration(common)
        let runtime = try await Runtime.quiet(configuration)
        let chosen = filter
        try await runtime.withConnections {
            let page = try await runtime.ledger.audit.events(after: after, limit: limit, filter: chosen)
            AuditOutput.print(page.events.map { AuditEntry($0, sealer: runtime.sealer) }, json: json, empty: "no events")
        }
    }
}

/// How the audit commands print: one line per event, or JSON lines for scripts.
enum AuditOutput {
    static func print(_ entries: [AuditEntry], json: Bool, empty: String) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        for entry in entries {
            if json {
                Swift.print(String(decoding: (try? encoder.encode(entry)) ?? Data(), as: UTF8.self))
            } else {
                Swift.print(line(entry))
            }
        }
        if entries.isEmpty, !json { Swift.print(empty) }
    }

    static func line(_ entry: AuditEntry) -> String {
        var parts = ["#\(entry.position)", entry.stream, "v\(entry.version)", entry.recordedAt, entry.type, "node=\(entry.node)"]
        if let actor = entry.actor { parts.append("actor=\(actor)") }
        if let reason = entry.reason { parts.append("reason=\(reason)") }
        if let token = entry.token { parts.append("token=\(token)") }
        if let expires = entry.expiresAt { parts.append("expires=\(expires)") }
        if let error = entry.error { parts.append("error=\(error)") }
        if let code = entry.platformCode { parts.append("platform_code=\(code)") }
        if let request = entry.requestID { parts.append("request=\(request)") }
        return parts.joined(separator: " ")
    }
}
