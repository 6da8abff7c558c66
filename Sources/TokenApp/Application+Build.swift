public import Hummingbird
public import Logging
public import Prometheus
import TokenLedger
public import TokenHTTP

/// Builds the HTTP application over a runtime: the routes, the envelope for every error, the
/// runtime's services, and its preparation before the server binds.
public func buildApplication(
    configuration: ServerConfiguration,
    runtime: LedgerRuntime,
    access: AccessControl,
    logger: Logger,
    metrics: PrometheusCollectorRegistry? = nil,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let controller = TokenController(ledger: runtime.ledger, platforms: runtime.platforms, sealer: runtime.sealer, access: access)
    let export: (@Sendable () -> Response)? = metrics.map { registry in { @Sendable in MetricsExport.response(registry) } }
    let router = buildRouter(controller, metrics: export)
    var app = Application(
        router: router,
        configuration: .init(address: .hostname(configuration.http.host, port: configuration.http.port), serverName: "tokenledger"),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
        logger: logger
    )
    app.addServices(runtime.services)
    app.beforeServerStarts(perform: runtime.prepare)
    return app
}
