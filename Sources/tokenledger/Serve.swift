import ArgumentParser
import Foundation
import Hummingbird
import Logging
import TokenLedger
import TokenApp
import TokenHTTP

/// `tokenledger serve`: the HTTP service.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the HTTP service (the default).")

    @OptionGroup var common: CommonOptions

    func run() async throws {
        let configuration = try await Runtime.configuration(common)
        let logger = Runtime.logger(configuration)
        let metrics = MetricsExport.bootstrap()
        let access: AccessControl
        do {
            guard let mode = AccessControl.Mode(rawValue: configuration.authMode) else {
                throw ConfigurationFailure(message: "auth.mode must be keys or none, is '\(configuration.authMode)'")
            }
            access = try AccessControl(mode: mode, entries: configuration.authKeys)
        } catch {
            throw Runtime.fail("bad configuration: \(LedgerError.explain(error))")
        }
        if !access.enabled, let refusal = configuration.openAccessRefusal {
            throw Runtime.fail(refusal)
        }
        if !access.enabled {
            logger.warning("auth.mode is none: anyone who reaches this port can read every token and force refreshes")
        }
        let runtime: LedgerRuntime
        do {
            runtime = try await LedgerRuntime.make(configuration, logger: logger)
        } catch {
            throw Runtime.fail("cannot start: \(LedgerError.explain(error))")
        }
        let app = buildApplication(configuration: configuration, runtime: runtime, access: access, logger: logger, metrics: metrics) { port in
            let models = (["memory"] + runtime.storeProjectors.map(\.model.name)).joined(separator: "+")
            logger.info("listening on http://\(configuration.http.host):\(port), event log \(configuration.eventLog.url.hasPrefix("sqlite:") ? "SQLite" : "PostgreSQL"), read models \(models)")
        }
        do {
            try await app.runService()
            await runtime.shutdown()
        } catch {
            await runtime.shutdown()
            throw Runtime.fail("stopped: \(LedgerError.explain(error))")
        }
    }
}
