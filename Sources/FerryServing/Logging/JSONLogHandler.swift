import FerryCore
import Logging

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One JSON object per line on stderr — what log collectors expect when
/// Ferry runs in a container. (On a terminal Ferry logs plain text.)
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    private let label: String

    public init(label: String) { self.label = label }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var writer = JSONWriter()
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        writer.object { object in
            object.member("time") { $0.string(utf8: UTCTimestamp.now()) }
            object.member("level") { $0.string(event.level.rawValue) }
            object.member("logger") { $0.string(label) }
            object.member("message") { $0.string(event.message.description) }
            for key in merged.keys.sorted() {
                object.member(key) { $0.string(merged[key]!.description) }
            }
        }
        var line = writer.bytes
        line.append(0x0A)
        StandardStreams.writeError(line)
    }
}
