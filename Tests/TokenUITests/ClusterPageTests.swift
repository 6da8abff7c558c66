import Foundation
import LedgerTestSupport
import Testing
import TokenHTTP
import TokenLedger
import TokenUI

/// `GET /ui/cluster`: where the memory model started from, and its newest snapshot.
struct ClusterPageTests {
    @Test func theClusterPageSaysWhereTheMemoryModelStartedAndItsNewestSnapshot() async throws {
        let off = try UIFixture()
        try await off.app("demo", "wechat", "wx1")
        try await off.test { client in
            let page = try await client.get("/ui/cluster")
            #expect(page.status == 200)
            #expect(page.html.contains(#"<td id="started">the first event of the log</td>"#), "\(page.html)")
            #expect(page.html.contains(#"<td id="snapshot">off (eventlog.snapshot_every is 0)</td>"#))
        }

        let shelf = MemorySnapshotShelf()
        let first = try UIFixture(snapshots: shelf)
        try await first.app("demo", "wechat", "wx1")
        try await first.test { client in
            let page = try await client.get("/ui/cluster")
            #expect(page.html.contains(#"<td id="snapshot">none yet</td>"#))
        }
        let model = first.ledger.ledger.projector.model
        try await shelf.saveMemorySnapshot(try MemorySnapshot.make(of: model, node: "replica-a"), keeping: 2)
        // Another replica starts over the same log: from the snapshot.
        let second = try LedgerFixture(log: first.ledger.log, platforms: ["wechat": first.healthy], sealer: first.ledger.sealer, snapshots: shelf)
        try await second.ledger.projector.catchUp()
        let dashboard = try Dashboard(
            ledger: second.ledger, sealer: second.sealer, access: try AccessControl(mode: .none, entries: []), settings: Dashboard.Settings(),
            now: { second.clock.now }
        )
        try await first.test(with: dashboard) { client in
            let page = try await client.get("/ui/cluster")
            #expect(page.html.contains(#"<td id="started">the snapshot at position \#(model.checkpoint)</td>"#), "\(page.html)")
            #expect(page.html.contains(#"<td id="snapshot">position \#(model.checkpoint), written by replica-a</td>"#))
        }
    }
}
