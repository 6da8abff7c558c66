import ArgumentParser
import Foundation
import TokenLedger
import TokenApp

/// `tokenledger rotate-key`: a new secrets key, then the log's current credentials resealed with it.
struct RotateKey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate-key",
        abstract: "Rotate the secrets key: `new` prints the next key's configuration, `reseal` reseals the current credentials with it.",
        discussion: """
            1. tokenledger rotate-key new: set the three lines it prints on every replica and restart them.
            2. tokenledger rotate-key reseal: appends a credentials.set sealed with the new key for every \
            stream whose secret is sealed with an older one (the log stays append-only).
            Read models hold nothing sealed (memory opens values in the process; Redis, MySQL and MongoDB \
            hold tokens in the clear), so they need no re-encryption. Once every token in use was issued \
            after the reseal, the old key may leave secrets.previous_keys: events it sealed then show as \
            <unreadable> in audits, and a stream whose last token it sealed fetches a new one.
            """,
        subcommands: [New.self, Reseal.self]
    )

    struct New: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a new key and the configuration that uses it.")

        @OptionGroup var common: CommonOptions
        @Option(help: "The new key's id (default: k<N+1>).") var id: String?

        func run() async throws {
            let configuration = try await Runtime.configuration(common)
            let next: (id: String, key: String, previous: [String])
            do {
                next = try KeyRotation.next(configuration, id: id)
            } catch {
                throw Runtime.fail("\(LedgerError.explain(error))")
            }
            print("# new secrets key \(next.id): give every replica the same three settings, restart them,")
            print("# then run: tokenledger rotate-key reseal")
            print("SECRETS_KEY=\(next.key)")
            print("SECRETS_KEY_ID=\(next.id)")
            print("SECRETS_PREVIOUS_KEYS=\(next.previous.joined(separator: ","))")
        }
    }

    struct Reseal: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reseal every stream's current secret with the current key.")

        @OptionGroup var common: CommonOptions

        func run() async throws {
            let configuration = try await Runtime.configuration(common)
            let runtime = try await Runtime.quiet(configuration)
            let outcome: (resealed: [StreamID], unreadable: [StreamID])
            do {
                outcome = try await runtime.withConnections {
                    try await runtime.ledger.credentials.reseal(context: CallContext(actor: "rotate-key"))
                }
            } catch {
                throw Runtime.fail("reseal failed: \(LedgerError.explain(error))")
            }
            print("resealed \(outcome.resealed.count) stream(s) with key \(configuration.secrets.keyID)")
            for stream in outcome.resealed { print("  \(stream)") }
            if !outcome.unreadable.isEmpty {
                print("\(outcome.unreadable.count) stream(s) do not open with any configured key (add the key to secrets.previous_keys):")
                for stream in outcome.unreadable { print("  \(stream)") }
                throw ExitCode.failure
            }
        }
    }
}
