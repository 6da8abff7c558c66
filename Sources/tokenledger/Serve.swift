import ArgumentParser
import Hummingbird
import TokenApp
import TokenLedger

/// `tokenledger serve`: the HTTP service.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the HTTP service (the default).")

    @OptionGroup var common: CommonOptions

    func run() async throws {
        let configuration = try await Runtime.configuration(common)
        if let refusal = configuration.openAccessRefusal {
            throw Runtime.fail(refusal)
        }
        let metrics = MetricsExport.bootstrap()
        let app: any ApplicationProtocol
        do {
            app = try await buildApplication(configuration: configuration, metrics: metrics)
        } catch {
            throw Runtime.fail("cannot start: \(LedgerError.explain(error))")
        }
        do {
            try await app.runService()
        } catch {
            throw Runtime.fail("stopped: \(LedgerError.explain(error))")
        }
    }
}
