import Foundation

/// A Standard MIDI File, format 0 (one track), as fluidsynth reads it: a tempo, one General MIDI program on channel
/// 0, and notes. Times are in ticks of `ticksPerQuarter`; the tempo says how long a quarter note is.
public struct MIDIFile: Equatable {
    public struct Note: Equatable {
        public var pitch: Int       // MIDI note number, 0...127 (60 = middle C)
        public var velocity: Int    // 1...127
        public var start: Int       // ticks
        public var length: Int      // ticks, > 0
        public init(pitch: Int, velocity: Int, start: Int, length: Int) {
            (self.pitch, self.velocity, self.start, self.length) = (pitch, velocity, start, length)
        }
    }

    public var ticksPerQuarter = 480
    public var beatsPerMinute: Double
    public var program: Int         // General MIDI program, 0...127
    public var notes: [Note]

    public init(beatsPerMinute: Double, program: Int, notes: [Note]) {
        (self.beatsPerMinute, self.program, self.notes) = (beatsPerMinute, program, notes)
    }

    /// Seconds from the start to the last note's end.
    public var duration: Double {
        let end = notes.map { $0.start + $0.length }.max() ?? 0
        return Double(end) / Double(ticksPerQuarter) * 60 / beatsPerMinute
    }

    /// The file's bytes: MThd (format 0, one track) and one MTrk with the tempo, the program change, the notes' on
    /// and off events in time order (offs before ons at the same tick), and the end of the track.
    public func encoded() -> Data {
        precondition((0...127).contains(program), "MIDI program \(program) outside 0...127")
        var events: [(tick: Int, order: Int, bytes: [UInt8])] = []
        for note in notes {
            precondition((0...127).contains(note.pitch) && (1...127).contains(note.velocity) && note.start >= 0
                         && note.length > 0, "bad MIDI note \(note)")
            events.append((note.start, 1, [0x90, UInt8(note.pitch), UInt8(note.velocity)]))
            events.append((note.start + note.length, 0, [0x80, UInt8(note.pitch), 0]))
        }
        events.sort { ($0.tick, $0.order) < ($1.tick, $1.order) }
        let microsecondsPerQuarter = Int((60_000_000 / beatsPerMinute).rounded())
        var track: [UInt8] = [0x00, 0xFF, 0x51, 0x03] + Self.bigEndian(microsecondsPerQuarter, bytes: 3)
        track += [0x00, 0xC0, UInt8(program)]
        var now = 0
        for event in events {
            track += Self.variableLength(event.tick - now) + event.bytes
            now = event.tick
        }
        track += [0x00, 0xFF, 0x2F, 0x00]
        var bytes: [UInt8] = Array("MThd".utf8) + Self.bigEndian(6, bytes: 4) + [0, 0, 0, 1]
        bytes += Self.bigEndian(ticksPerQuarter, bytes: 2)
        bytes += Array("MTrk".utf8) + Self.bigEndian(track.count, bytes: 4) + track
        return Data(bytes)
    }

    /// A MIDI variable-length quantity: seven bits a byte, most significant first, the high bit set on all but the last.
    static func variableLength(_ value: Int) -> [UInt8] {
        precondition(value >= 0 && value < 1 << 28, "MIDI delta time \(value) out of range")
        var groups = [UInt8(value & 0x7F)]
        var rest = value >> 7
        while rest > 0 {
            groups.append(UInt8(rest & 0x7F) | 0x80)
            rest >>= 7
        }
        return groups.reversed()
    }

    static func bigEndian(_ value: Int, bytes: Int) -> [UInt8] {
        (0..<bytes).reversed().map { UInt8((value >> (8 * $0)) & 0xFF) }
    }
}
