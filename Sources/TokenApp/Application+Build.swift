public import Hummingbird
public import Logging
public import Prometheus
import NIOCore
import TokenLedger
import TokenHTTP
import TokenUI

/// Builds the service from its configuration: the ledger over its log and read models, the
/// routes, and one service group that owns every resource. `serve` and the tests both call it.
///
/// Before the server listens (Hummingbird's `beforeServerStarts`), the log's migrations are
/// applied, the shared read models checked, and (without shared read models) the apps of
/// configuration registered. `metrics` adds `GET /metrics` and the request metrics;
/// `onServerRunning` is told the port the server listens on.
public func buildApplication(
    configuration: ServerConfiguration,
    logger: Logger? = nil,
    metrics: PrometheusCollectorRegistry? = nil,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) async throws -> some ApplicationProtocol {
    let logger = logger ?? configuration.logger()
    let access = try AccessControl(mode: configuration.auth.mode, entries: configuration.auth.keys)
    if !access.enabled {
        logger.warning("auth.mode is none: anyone who reaches this port can read every token and force refreshes")
    }
    let runtime = try await LedgerRuntime.make(configuration, logger: logger)
    let controller = TokenController(
        ledger: runtime.ledger, platforms: runtime.platforms, sealer: runtime.sealer, access: access, watch: configuration.watch
    )
    let export: (@Sendable () -> Response)? = metrics.map { registry in
        { @Sendable in
            // Gauges computed from the memory model are brought up to date at each scrape.
            runtime.ledger.refresher.recordBudgetMetrics()
            return MetricsExport.response(registry)
        }
    }
    let router = buildRouter(controller, metrics: export)
    try Dashboard(ledger: runtime.ledger, sealer: runtime.sealer, access: access, storeProjectors: runtime.storeProjectors, settings: configuration.ui)
        .addRoutes(to: router)
    let models = (["memory"] + runtime.storeProjectors.map(\.model.name)).joined(separator: "+")
    let serverName = "tokenledger"
    var app = Application(
        router: router,
        // Reads of a token memory holds fresh are answered on the connection's event loop.
        server: .http1(
            fastPath: TokenFastPath(controller, serverName: serverName, requestMetrics: export != nil),
            configuration: .init(idleTimeout: TimeAmount(configuration.http.idleTimeout))
        ),
        configuration: .init(address: .hostname(configuration.http.host, port: configuration.http.port), serverName: serverName),
        onServerRunning: { channel in
            let port = channel.localAddress?.port ?? 0
            logger.info("listening on http://\(configuration.http.host):\(port), event log \(configuration.eventLog.url.kind), read models \(models)")
            await onServerRunning(port)
        },
        logger: logger
    )
    app.addServices(runtime.serviceGroup())
    app.beforeServerStarts(perform: runtime.beforeServing)
    return app
}

extension ServerConfiguration {
    /// The process's logger, at `log.level`.
    public func logger() -> Logger {
        var logger = Logger(label: "tokenledger")
        logger.logLevel = logLevel
        return logger
    }
}
