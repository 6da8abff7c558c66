import Logging
public import ServiceLifecycle
import TokenLedger

extension LedgerRuntime {
    /// The group that owns every resource of a serving replica, in dependency order (a group
    /// stops its services in reverse): the log's connections or file, the read models' pools,
    /// the memory projector, the store projectors, the scheduler. With shared read models, a
    /// one-shot service then registers the apps of configuration while the replica already
    /// serves from those models (its memory catching up meanwhile); its return ends nothing.
    public func serviceGroup() -> ServiceGroup {
        var services = (connections + workers).map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) }
        if !storeProjectors.isEmpty {
            services.append(.init(service: RunService { try await registerDeclaredApps() }, successTerminationBehavior: .ignore))
        }
        return ServiceGroup(configuration: ServiceGroupConfiguration(services: services, logger: logger))
    }

    /// What must be done before the server listens: migrations and the stores' tables, then,
    /// without shared read models, the apps of configuration (memory must have caught up first).
    public func beforeServing() async throws {
        try await prepareStores()
        if storeProjectors.isEmpty { try await registerDeclaredApps() }
    }

    /// Runs `body` while the connections run (the log's client or file, the read models'
    /// pools), then shuts them down gracefully: what a one-off command needs.
    public func withConnections<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await withServices(connections, logger: logger, body)
    }
}

/// Runs `body` while `services` run in one `ServiceGroup`, then shuts the group down gracefully
/// (in reverse order) and returns what `body` returned, or throws what it threw.
func withServices<T: Sendable>(_ services: [any Service], logger: Logger, _ body: () async throws -> T) async throws -> T {
    let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: services.map { .init(service: $0) }, logger: logger))
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        let result: Result<T, any Error>
        do {
            result = .success(try await body())
        } catch {
            result = .failure(error)
        }
        await group.triggerGracefulShutdown()
        try? await tasks.waitForAll()
        return try result.get()
    }
}

/// Adapts a closure to `Service`, for long-lived loops of modules that do not depend on ServiceLifecycle.
struct RunService: Service {
    let body: @Sendable () async throws -> Void
    init(_ body: @escaping @Sendable () async throws -> Void) { self.body = body }
    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await body() }
        } catch is CancellationError {
            // Cancelled by the graceful shutdown (or by the group): a clean stop, not a failure,
            // so that SIGTERM exits 0 whichever loop noticed the cancellation first.
        }
    }
}

/// Holds a resource for as long as the group runs, and releases it when its turn to stop comes
/// (after every service started later has stopped).
struct ResourceService: Service {
    let release: @Sendable () async -> Void
    init(release: @escaping @Sendable () async -> Void) { self.release = release }
    func run() async throws {
        try? await gracefulShutdown()
        // When the group is cancelled (a failed start) this task is too, and a cancelled close
        // gives up (sqlite-nio's throws CancellationError): release in a task of its own.
        let release = self.release
        await Task { await release() }.value
    }
}
