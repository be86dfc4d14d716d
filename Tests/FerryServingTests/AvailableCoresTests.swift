import FerryServing
import Foundation
import Testing

@Suite("cores from the cgroup CPU quota")
struct AvailableCoresTests {
    @Test("cgroup v2 cpu.max and v1 cfs quota, or none")
    func parsing() {
        #expect(AvailableCores.parseCPUMax("200000 100000\n") == 2)
        #expect(AvailableCores.parseCPUMax("150000 100000") == 1.5)
        #expect(AvailableCores.parseCPUMax("max 100000") == nil)
        #expect(AvailableCores.parseCFS(quota: "-1\n", period: "100000\n") == nil)
        #expect(AvailableCores.parseCFS(quota: "50000\n", period: "100000\n") == 0.5)
    }

    @Test("the quota file is found through /proc/self/cgroup")
    func lookup() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-cgroup-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root.appendingPathComponent("kubepods/pod1"), withIntermediateDirectories: true)
        try Data("300000 100000\n".utf8).write(to: root.appendingPathComponent("kubepods/pod1/cpu.max"))
        #expect(AvailableCores.quota(root: root.path, membership: "0::/kubepods/pod1\n") == 3)
        #expect(AvailableCores.quota(root: root.path, membership: "0::/elsewhere\n") == nil)
        #expect(AvailableCores.count >= 1)
    }
}
