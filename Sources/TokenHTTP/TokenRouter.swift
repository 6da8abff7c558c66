public import Hummingbird

/// The token API's router: Hummingbird's `MetricsMiddleware` and `GET /metrics` when `metrics`
/// is given, every error answered in the envelope, authentication, and the controller's routes.
///
/// The one entry point of this module for the wiring (and for `app.test(.router)` tests).
public func buildRouter(_ controller: TokenController, metrics: (@Sendable () -> Response)? = nil) -> Router<TokenRequestContext> {
    let router = Router(context: TokenRequestContext.self)
    if let metrics {
        // Requests by route and status, with their latency, outside the envelope so that it
        // sees the status each error was answered with.
        router.add(middleware: MetricsMiddleware())
        router.get("metrics") { _, _ in metrics() }
    }
    router.add(middleware: EnvelopeErrorMiddleware())
    controller.addRoutes(to: router)
    return router
}
