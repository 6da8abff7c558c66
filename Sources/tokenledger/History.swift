import ArgumentParser
import Foundation
import Logging
import TokenLedger
import TokenServer

/// `tokenledger history PROJECT PLATFORM APPID`: a stream's events, tokens masked.
struct History: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List a stream's events, tokens masked.")

    @OptionGroup var common: CommonOptions
    @Argument var project: String
    @Argument var platform: String
    @Argument var appid: String
    @Option(help: "Show events after this version.") var after: Int64 = 0
    @Option(help: "At most this many events.") var limit: Int = 1000
    @Flag(help: "One JSON object per line.") var json = false

    func run() async throws {
        let stream: StreamID
        do {
            stream = try StreamID(project: project, platform: platform, appid: appid)
        } catch {
            throw ValidationError(error.message)
        }
        let configuration = try await Runtime.configuration(common)
        var logger = Runtime.logger(configuration)
        logger.logLevel = .error
        let runtime = try await LedgerRuntime.make(configuration, logger: logger)
        try await Runtime.withServices(runtime.services) {
            let events = try await runtime.ledger.history(of: stream, afterVersion: after, limit: limit)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            for event in events {
                let entry = AuditEntry(event, sealer: runtime.sealer)
                if json {
                    print(String(decoding: try encoder.encode(entry), as: UTF8.self))
                } else {
                    print(Self.line(entry))
                }
            }
            if events.isEmpty, !json { print("no events for \(stream)") }
        }
        await runtime.shutdown()
    }

    static func line(_ entry: AuditEntry) -> String {
        var parts = ["#\(entry.position)", "v\(entry.version)", entry.recordedAt, entry.type, "node=\(entry.node)"]
        if let reason = entry.reason { parts.append("reason=\(reason)") }
        if let token = entry.token { parts.append("token=\(token)") }
        if let expires = entry.expiresAt { parts.append("expires=\(expires)") }
        if let error = entry.error { parts.append("error=\(error)") }
        if let code = entry.platformCode { parts.append("platform_code=\(code)") }
        if let request = entry.requestID { parts.append("request=\(request)") }
        return parts.joined(separator: " ")
    }
}
