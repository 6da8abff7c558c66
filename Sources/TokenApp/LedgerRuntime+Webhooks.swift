import Logging
import Platforms
public import TokenLedger

extension LedgerRuntime {
    /// The projectors of `configuration.webhooks`, posting through the platforms' HTTP client
    /// (no redirects) under the token URLs' address rules (`platforms.oauth2.allow_private_networks`).
    static func webhookProjectors(
        _ configuration: ServerConfiguration, log: OpenedLog, wakes: WakeSignal, head: @escaping @Sendable () -> Int64, logger: Logger
    ) throws -> [WebhookProjector] {
        let settings = configuration.webhooks
        guard !settings.subscriptions.isEmpty else { return [] }
        let checkpoints = try log.webhookCheckpointsOrRefusal()
        let sender = HTTPWebhookSender(
            client: PlatformRegistry.httpClient,
            policy: TokenURLPolicy(allowPrivateNetworks: configuration.platforms.allowPrivateTokenURLs),
            timeout: settings.timeout
        )
        return settings.subscriptions.map { subscription in
            WebhookProjector(
                subscription: subscription,
                log: log.log,
                election: log.election,
                checkpoints: checkpoints,
                sender: sender,
                wakes: wakes,
                options: settings.options(pollInterval: configuration.eventLog.pollInterval),
                head: head,
                logger: logger
            )
        }
    }

    /// The webhooks' checkpoints (`tokenledger webhooks`): PostgreSQL only. Needs the connections running.
    public func webhookCheckpoints() throws -> any WebhookCheckpoints {
        try log.webhookCheckpointsOrRefusal()
    }
}

extension OpenedLog {
    /// `webhookCheckpoints`, or the refusal of webhooks over SQLite.
    func webhookCheckpointsOrRefusal() throws -> any WebhookCheckpoints {
        guard let checkpoints = webhookCheckpoints else {
            throw ConfigurationFailure(message: "webhooks need the PostgreSQL log (eventlog.url: postgres://…): their checkpoints live with it")
        }
        return checkpoints
    }
}
