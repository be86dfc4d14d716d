import FerryCore
import FerryServing
import Foundation
import Testing

@Suite("several repositories served as one")
struct ModelRepositorySourcesTests {
    @Test("models of every source are listed; a name two sources hold is refused naming both")
    func union() throws {
        let first = try TestRepository()
        let second = try TestRepository()
        try first.add("mlp")
        try first.add("identity_fp32")
        try second.add("strings")
        try second.add("mlp")
        let single = try TestRepository()
        try single.add("scalar")
        let repository = try ModelRepository(paths: [first.path, second.path, single.path + "/scalar/1/model.onnx"])
        #expect(repository.modelNames() == ["identity_fp32", "mlp", "model", "strings"])
        #expect(try repository.entry(named: "strings").directory == second.path + "/strings")
        #expect {
            try repository.entry(named: "mlp")
        } throws: { error in
            guard let error = error as? FerryError else { return false }
            return error.code == .failedPrecondition && error.message.contains("more than one model repository")
        }
        #expect(throws: FerryError.self) { try repository.entry(named: "absent") }
        #expect(try ModelRepository(paths: []).modelNames().isEmpty)
    }
}
