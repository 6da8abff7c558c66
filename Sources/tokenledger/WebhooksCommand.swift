import ArgumentParser
import Foundation
import TokenApp
import TokenLedger

/// `tokenledger webhooks list|resume`: where each webhook stands, and delivering again after a parking.
struct WebhooksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhooks",
        abstract: "Show the webhooks' checkpoints, or resume a parked webhook.",
        subcommands: [List.self, Resume.self]
    )

    /// `tokenledger webhooks list`.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Each configured webhook: its checkpoint, and whether it is parked and why.")

        @OptionGroup var common: CommonOptions

        func run() async throws {
            let configuration = try await Runtime.configuration(common)
            let runtime = try await Runtime.quiet(configuration)
            let rows = try await WebhooksCommand.checkpoints(runtime)
            for subscription in configuration.webhooks.subscriptions {
                let row = rows.first { $0.id == subscription.id }
                let state: String
                switch (row, row?.parkedAt) {
                case (nil, _): state = "not started (no replica has led it yet)"
                case (let row?, let parkedAt?):
                    state = "parked at \(row.position) since \(AuditEntry.isoDate(parkedAt)): \(row.parkedReason ?? "?")"
                case (let row?, nil): state = "delivering, checkpoint \(row.position)"
                }
                print("\(subscription): \(state)")
            }
            for row in rows where !configuration.webhooks.subscriptions.contains(where: { $0.id == row.id }) {
                print("\(row.id) (no longer configured): checkpoint \(row.position)")
            }
        }
    }

    /// `tokenledger webhooks resume ID [--from POSITION]`.
    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Lift a webhook's parking; with --from, deliver again from that position (receivers drop the ids they have).",
            discussion: """
                The leading replica sees the change at its next look (within eventlog.poll_interval_ms) and \
                delivers from the checkpoint: the event that kept failing first. With --from, every event \
                the webhook wants at or after POSITION is delivered again, in order.
                """
        )

        @OptionGroup var common: CommonOptions
        @Argument(help: "The webhook's id, as configured.") var id: String
        @Option(help: "Deliver again from this log position (inclusive).") var from: Int64?

        func run() async throws {
            let (id, from) = (self.id, self.from)
            let configuration = try await Runtime.configuration(common)
            guard configuration.webhooks.subscriptions.contains(where: { $0.id == id }) else {
                throw Runtime.fail(
                    "no webhook '\(id)' is configured; configured: \(configuration.webhooks.subscriptions.map(\.id).joined(separator: ", ").nonEmpty ?? "none")"
                )
            }
            if let from, from < 1 { throw Runtime.fail("--from must be a position, 1 or more") }
            let runtime = try await Runtime.quiet(configuration)
            let row: WebhookCheckpoint?
            do {
                row = try await runtime.withConnections {
                    try await runtime.prepareStores()
                    return try await runtime.webhookCheckpoints().resume(id, from: from)
                }
            } catch {
                throw Runtime.fail("resume of webhook \(id) failed: \(LedgerError.explain(error))")
            }
            guard let row else {
                throw Runtime.fail("webhook \(id) has no checkpoint yet (no replica has led it); give --from to set where it starts")
            }
            print("webhook \(id) resumed: delivering after position \(row.position)")
        }
    }

    /// Every stored checkpoint.
    static func checkpoints(_ runtime: LedgerRuntime) async throws -> [WebhookCheckpoint] {
        do {
            return try await runtime.withConnections {
                try await runtime.prepareStores()
                return try await runtime.webhookCheckpoints().all()
            }
        } catch {
            throw Runtime.fail("cannot read the webhooks' checkpoints: \(LedgerError.explain(error))")
        }
    }
}
