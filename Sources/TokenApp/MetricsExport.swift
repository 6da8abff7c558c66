import Hummingbird
import Metrics
import NIOCore
public import Prometheus

/// Prometheus export of every swift-metrics metric of the process (`GET /metrics`).
public enum MetricsExport {
    /// Bootstraps swift-metrics with a Prometheus registry; call once per process, before the
    /// ledger is built (metrics bind to the factory when created).
    public static func bootstrap() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }

    static func response(_ registry: PrometheusCollectorRegistry) -> Response {
        var bytes: [UInt8] = []
        registry.emit(into: &bytes)
        return Response(
            status: .ok,
            headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes))
        )
    }
}
