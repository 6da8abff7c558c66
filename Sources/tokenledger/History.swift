import ArgumentParser
import Foundation
import TokenLedger
import TokenApp

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
        let runtime = try await Runtime.quiet(configuration)
        try await runtime.withConnections {
            let events = try await runtime.ledger.audit.history(of: stream, afterVersion: after, limit: limit)
            AuditOutput.print(events.map { AuditEntry($0, sealer: runtime.sealer) }, json: json, empty: "no events for \(stream)")
        }
    }
}
