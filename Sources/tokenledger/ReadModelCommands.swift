import ArgumentParser
import Foundation
import TokenLedger
import TokenApp

/// `tokenledger replay --readmodel NAME [--from POSITION]`: rebuilds a shared read model from the log.
struct Replay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rebuild a shared read model (redis, mysql, mongo) from the log while the service keeps serving.",
        discussion: """
            Without --from the model is emptied first, then every event is applied again: rows nobody \
            wrote through this log, and rows newer than the log, are gone afterwards. With --from, the \
            events after POSITION are applied over what the model holds. Serving replicas keep writing \
            meanwhile; both writers apply only newer positions, so they cannot undo each other.
            """
    )

    @OptionGroup var common: CommonOptions
    @Option(help: "The read model: redis, mysql or mongo (it must be configured).") var readmodel: String
    @Option(help: "Apply only the events after this position, over what the model holds.") var from: Int64?

    func run() async throws {
        let configuration = try await Runtime.configuration(common)
        let runtime = try await Runtime.quiet(configuration)
        let from = self.from
        do {
            try await runtime.withConnections {
                guard let projector = runtime.storeProjectors.first(where: { $0.model.name == readmodel }) else {
                    throw Runtime.fail(
                        "no read model '\(readmodel)' is configured; configured: \(runtime.storeProjectors.map(\.model.name).joined(separator: ", ").nonEmpty ?? "none")"
                    )
                }
                try await runtime.prepareStores()
                let started = ContinuousClock.now
                let checkpoint = try await projector.replay(from: from)
                let seconds = (ContinuousClock.now - started) / .seconds(1)
                print("replayed \(readmodel) from \(from.map(String.init) ?? "zero") to position \(checkpoint) in \(String(format: "%.2f", seconds)) s")
            }
        } catch let error as ExitCode {
            throw error
        } catch {
            throw Runtime.fail("replay of \(readmodel) failed: \(LedgerError.explain(error))")
        }
    }
}

/// `tokenledger verify [--readmodel NAME]`: compares the shared read models with the log.
struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare the shared read models with the state folded from the log; exit status 1 on any difference.",
        discussion: """
            Without --readmodel the newest snapshot of the memory model is compared too, \
            with the log folded up to its position.
            """
    )

    @OptionGroup var common: CommonOptions
    @Option(help: "Only this read model: redis, mysql or mongo.") var readmodel: String?
    @Option(help: "Seconds to wait for a model to reach the log's head before judging it.") var wait: Double = 5

    func run() async throws {
        let configuration = try await Runtime.configuration(common)
        let runtime = try await Runtime.quiet(configuration)
        let chosen = runtime.storeProjectors.filter { readmodel == nil || $0.model.name == readmodel }
        let wait = Duration.milliseconds(Int(self.wait * 1000))
        let (differences, snapshot): ([ReadModelDifference], Bool?)
        do {
            (differences, snapshot) = try await runtime.withConnections {
                if chosen.isEmpty, let readmodel { throw Runtime.fail("no read model '\(readmodel)' is configured") }
                try await runtime.prepareStores()
                let snapshot = readmodel == nil ? try await verifySnapshot(runtime) : nil
                if chosen.isEmpty, snapshot == nil {
                    throw Runtime.fail("no shared read model is configured (redis.url, mysql.url, mongo.url), and no memory snapshot is kept")
                }
                var found: [ReadModelDifference] = []
                for projector in chosen {
                    let these = try await projector.verify(wait: wait)
                    print("\(projector.model.name): \(these.isEmpty ? "matches the log" : "\(these.count) difference(s)")")
                    found += these
                }
                return (found, snapshot)
            }
        } catch let error as ExitCode {
            throw error
        } catch {
            throw Runtime.fail("verify failed: \(LedgerError.explain(error))")
        }
        for difference in differences { print(difference) }
        if !differences.isEmpty || snapshot == false { throw ExitCode.failure }
    }
}

extension Verify {
    /// Prints how the newest memory snapshot compares with the log: nil when there is none, false
    /// when it differs. One this replica cannot restore (other keys or code: a serving replica
    /// passes it over and replays the log) is said so, and is no difference.
    private func verifySnapshot(_ runtime: LedgerRuntime) async throws -> Bool? {
        do {
            guard let (position, streams) = try await runtime.verifyMemorySnapshot() else { return nil }
            let verdict = streams.isEmpty ? "matches the log" : "\(streams.count) stream(s) differ from the log: \(streams.prefix(10).map(\.description).joined(separator: ", "))"
            print("memory snapshot at position \(position): \(verdict)")
            return streams.isEmpty
        } catch let error as LedgerError where error.code == .corruptEvent {
            print("memory snapshot: not compared, a replica configured as this one passes it over: \(error.message)")
            return true
        }
    }
}

extension String {
    var nonEmpty: String? { isEmpty ? nil : self }
}
