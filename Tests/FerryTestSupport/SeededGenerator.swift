import Foundation

/// A reproducible random generator for tests (SplitMix64). The seed comes
/// from FERRY_TEST_SEED when set, else from the system, and is printed, so a
/// failing run can be replayed exactly.
public struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    public let seed: UInt64

    public init(test: String) {
        let given = ProcessInfo.processInfo.environment["FERRY_TEST_SEED"].flatMap { UInt64($0) }
        seed = given ?? UInt64.random(in: .min ... .max)
        state = seed
        print("\(test): random seed \(seed) (replay with FERRY_TEST_SEED=\(seed))")
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
