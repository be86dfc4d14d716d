import FerryServing
import Testing

@Suite("the memory budget's choice of models to unload")
struct MemoryBudgetTests {
    let budget = MemoryBudget(bytes: 100)

    @Test("a load that fits unloads nothing")
    func fits() {
        let residents = [MemoryBudget.Resident(name: "a", bytes: 40, lastUse: 1)]
        #expect(budget.decide(needed: 60, residents: residents) == .evict([]))
    }

    @Test("the least recently used idle models go first, and no more than needed")
    func leastRecentlyUsed() {
        let residents = [
            MemoryBudget.Resident(name: "newest", bytes: 30, lastUse: 9),
            MemoryBudget.Resident(name: "oldest", bytes: 30, lastUse: 1),
            MemoryBudget.Resident(name: "middle", bytes: 30, lastUse: 5),
        ]
        #expect(budget.decide(needed: 20, residents: residents) == .evict(["oldest"]))
        #expect(budget.decide(needed: 50, residents: residents) == .evict(["oldest", "middle"]))
    }

    @Test("models in use and pinned models are passed over")
    func busyAndPinned() {
        let residents = [
            MemoryBudget.Resident(name: "busy", bytes: 30, lastUse: 1, busy: true),
            MemoryBudget.Resident(name: "pinned", bytes: 30, lastUse: 2, pinned: true),
            MemoryBudget.Resident(name: "idle", bytes: 30, lastUse: 3),
        ]
        #expect(budget.decide(needed: 30, residents: residents) == .evict(["idle"]))
        // Room only once the busy one goes idle.
        #expect(budget.decide(needed: 60, residents: residents) == .wait(busy: ["busy"]))
    }

    @Test("a model that cannot fit beside the pinned ones is refused at once")
    func impossible() {
        let residents = [MemoryBudget.Resident(name: "pinned", bytes: 70, lastUse: 1, pinned: true)]
        #expect(budget.decide(needed: 40, residents: residents) == .impossible(fixed: 70))
        #expect(budget.decide(needed: 130, residents: []) == .impossible(fixed: 0))
    }
}
