import FerryCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The copy of `ferry` that goes into an image: without symbols and debug
/// information unless asked, and without the `DT_NEEDED` entries of
/// libraries it takes no symbol from.
///
/// Swift modules that `import Foundation` make the linker record
/// `libFoundation.so` even when they only use FoundationEssentials' types
/// (SwiftProtobuf does), and the linker driver gives `--as-needed` no place
/// before them. Left in, that entry pulls Foundation and its ICU data
/// library (40 MB, 16 MB compressed) into every image.
struct PackedExecutable {
    let url: URL
    /// Libraries whose entries were removed and that no other library loads either.
    let leftOut: [String]
    /// The copy's library closure after the removal, as `RootFilesystem.resolvedLibraries` gives it.
    let libraries: [String: String]

    static func prepare(_ program: URL, strip: Bool) throws(FerryError) -> PackedExecutable {
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-packed-\(RandomIdentifier.uuid())")
        if strip {
            let result: ChildProcess.Result
            do {
                result = try ChildProcess.run(["strip", "--strip-unneeded", "-o", copy.path, program.path])
            } catch {
                throw FerryError(.failedPrecondition, "cannot run strip (binutils) on '\(program.path)'; pass --no-strip to pack it as is")
            }
            guard result.status == 0 else {
                throw FerryError(.failedPrecondition, "strip failed on '\(program.path)': \(result.errorText.trimmingWhitespace)")
            }
        } else {
            do {
                try FileManager.default.copyItem(at: program, to: copy)
            } catch {
                throw FerryError(.failedPrecondition, "cannot copy '\(program.path)': \(FerryError.describe(error))")
            }
        }
        do {
            let removed = try removeUnusedLibraries(copy)
            let loaded = try RootFilesystem.resolvedLibraries(of: copy)
            return PackedExecutable(url: copy, leftOut: removed.filter { loaded[$0] == nil }, libraries: loaded)
        } catch {
            try? FileManager.default.removeItem(at: copy)
            throw error
        }
    }

    func remove() { try? FileManager.default.removeItem(at: url) }

    /// What `ld --as-needed` would have left out: needed libraries that
    /// define none of the program's undefined dynamic symbols.
    private static func removeUnusedLibraries(_ program: URL) throws(FerryError) -> [String] {
        var file = try ELFFile(path: program.path)
        let undefined = file.symbols.undefined
        let resolved = try RootFilesystem.resolvedLibraries(of: program)
        var unused: [String] = []
        for name in file.neededLibraries {
            guard let path = resolved[name] else { continue }
            if try ELFFile(path: path).symbols.defined.isDisjoint(with: undefined) { unused.append(name) }
        }
        guard !unused.isEmpty else { return [] }
        file.removeNeeded(Set(unused))
        do {
            try Data(file.bytes).write(to: program)
        } catch {
            throw FerryError(.internal, "cannot rewrite '\(program.path)': \(FerryError.describe(error))")
        }
        return unused
    }
}
