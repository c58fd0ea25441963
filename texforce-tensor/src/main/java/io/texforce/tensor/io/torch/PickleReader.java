package io.texforce.tensor.io.torch;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * A restricted pickle interpreter (protocols 0 to 5). It builds dicts ({@link LinkedHashMap}), lists
 * ({@link ArrayList}), tuples (unmodifiable lists), strings, bytes, integers ({@link Long} or {@link BigInteger}),
 * floats, booleans and None (null), and resolves globals only from the table it is given: any other global is
 * refused by name before anything is built, and nothing from the file is ever executed. Object-construction
 * opcodes (INST, OBJ, NEWOBJ, EXT) are refused too.
 */
public final class PickleReader {
    private static final Object MARK = new Object();

    private final Map<String, Object> globals;
    private final Function<List<Object>, Object> persistentLoad;
    private final String source;

    /**
     * @param globals        the globals the pickle may name, by {@code module.name}; a {@link PickleFunction} value
     *                       may be called
     * @param persistentLoad resolves persistent ids (tuples), e.g. to tensor storages
     * @param source         names the file in errors
     */
    public PickleReader(Map<String, Object> globals, Function<List<Object>, Object> persistentLoad, String source) {
        this.globals = globals;
        this.persistentLoad = persistentLoad;
        this.source = source;
    }

    /** Reads one pickle from {@code in}, stopping right after its STOP opcode. */
    public Object read(InputStream in) throws IOException {
        Run run = new Run(in);
        return run.execute();
    }

    /** The state of one pickle being read. */
    private final class Run {
        private final InputStream in;
        private final List<Object> stack = new ArrayList<>();
        private final Map<Long, Object> memo = new HashMap<>();
        private long position;

        Run(InputStream in) {
            this.in = in;
        }

        Object execute() throws IOException {
            while (true) {
                long at = position;
                int op = u8();
                switch (op) {
                    case 0x80 -> u8(); // PROTO
                    case 0x95 -> bytes(8); // FRAME: a length hint only
                    case '.' -> {
                        return pop();
                    }
                    case '(' -> stack.add(MARK);
                    case '0' -> pop();
                    case '1' -> popMark();
                    case '2' -> push(peek());
                    case '}' -> push(new LinkedHashMap<>());
                    case ']' -> push(new ArrayList<>());
                    case ')' -> push(tuple());
                    case 't' -> push(tuple(popMark().toArray()));
                    case 0x85 -> push(tuple(pop()));
                    case 0x86 -> {
                        Object b = pop(), a = pop();
                        push(tuple(a, b));
                    }
                    case 0x87 -> {
                        Object c = pop(), b = pop(), a = pop();
                        push(tuple(a, b, c));
                    }
                    case 'l' -> push(new ArrayList<>(popMark()));
                    case 'd' -> push(dict(popMark(), at));
                    case 'a' -> {
                        Object item = pop();
                        list(peek(), at).add(item);
                    }
                    case 'e' -> {
                        List<Object> items = popMark();
                        list(peek(), at).addAll(items);
                    }
                    case 's' -> {
                        Object value = pop(), key = pop();
                        map(peek(), at).put(key, value);
                    }
                    case 'u' -> {
                        List<Object> items = popMark();
                        map(peek(), at).putAll(dict(items, at));
                    }
                    case 'N' -> push(null);
                    case 0x88 -> push(Boolean.TRUE);
                    case 0x89 -> push(Boolean.FALSE);
                    case 'J' -> push((long) le(4));
                    case 'K' -> push((long) u8());
                    case 'M' -> push((long) (u8() | u8() << 8));
                    case 0x8a -> push(longValue(bytes(u8())));
                    case 0x8b -> push(longValue(bytes(length(le(4), at))));
                    case 'I' -> push(textInt(line()));
                    case 'L' -> push(narrow(new BigInteger(stripSuffix(line(), "L"))));
                    case 'G' -> push(Double.longBitsToDouble(be8()));
                    case 'F' -> push(Double.parseDouble(line()));
                    case 'X' -> push(utf8(bytes(length(le(4), at))));
                    case 0x8c -> push(utf8(bytes(u8())));
                    case 0x8d -> push(utf8(bytes(length(le8(), at))));
                    case 'T' -> push(latin1(bytes(length(le(4), at))));
                    case 'U' -> push(latin1(bytes(u8())));
                    case 'B' -> push(bytes(length(le(4), at)));
                    case 'C' -> push(bytes(u8()));
                    case 0x8e -> push(bytes(length(le8(), at)));
                    case 'c' -> {
                        String module = line();
                        push(global(module, line()));
                    }
                    case 0x93 -> {
                        Object name = pop(), module = pop();
                        push(global(String.valueOf(module), String.valueOf(name)));
                    }
                    case 'R' -> {
                        Object args = pop(), callable = pop();
                        push(call(callable, args, at));
                    }
                    case 'b' -> build(pop(), peek(), at);
                    case 'Q' -> push(persistent(pop(), at));
                    case 'P' -> push(persistent(tuple(line()), at));
                    case 'q' -> memo.put((long) u8(), peek());
                    case 'r' -> memo.put(le(4) & 0xFFFFFFFFL, peek());
                    case 'p' -> memo.put(Long.parseLong(line()), peek());
                    case 0x94 -> memo.put((long) memo.size(), peek());
                    case 'h' -> push(memoGet(u8(), at));
                    case 'j' -> push(memoGet(le(4) & 0xFFFFFFFFL, at));
                    case 'g' -> push(memoGet(Long.parseLong(line()), at));
                    case 'i', 'o', 0x81, 0x92, 0x82, 0x83, 0x84 -> throw fail(at, "opcode 0x" + Integer.toHexString(op)
                            + " constructs arbitrary objects and is not allowed");
                    default -> throw fail(at, "unsupported pickle opcode 0x" + Integer.toHexString(op));
                }
            }
        }

        private Object global(String module, String name) {
            String key = module + "." + name;
            if (!globals.containsKey(key)) {
                throw new PickleException(source + ": refusing to load global '" + key + "': only tensors, storages,"
                        + " dicts, ordered dicts, lists, tuples and primitives are allowed (the file may run code when"
                        + " loaded with torch.load)");
            }
            return globals.get(key);
        }

        private Object call(Object callable, Object args, long at) {
            if (!(callable instanceof PickleFunction f)) {
                throw fail(at, "REDUCE on " + describe(callable) + ", which is not an allowed callable");
            }
            if (!(args instanceof List<?> list)) {
                throw fail(at, "REDUCE with arguments " + describe(args) + " instead of a tuple");
            }
            @SuppressWarnings("unchecked")
            List<Object> a = (List<Object>) list;
            return f.call(a);
        }

        /** BUILD sets attributes; the only kind allowed is the {@code _metadata} a state-dict OrderedDict carries. */
        private void build(Object state, Object target, long at) {
            if (!(target instanceof Map<?, ?>) || !(state instanceof Map<?, ?> || state == null)) {
                throw fail(at, "BUILD of " + describe(target) + " with state " + describe(state) + " is not allowed");
            }
        }

        private Object persistent(Object pid, long at) {
            if (!(pid instanceof List<?>)) {
                throw fail(at, "persistent id " + describe(pid) + " is not a tuple");
            }
            @SuppressWarnings("unchecked")
            List<Object> id = (List<Object>) pid;
            return persistentLoad.apply(id);
        }

        private Object memoGet(long index, long at) {
            if (!memo.containsKey(index)) {
                throw fail(at, "memo entry " + index + " used before it was stored");
            }
            return memo.get(index);
        }

        private void push(Object o) {
            stack.add(o);
        }

        private Object pop() {
            if (stack.isEmpty() || stack.getLast() == MARK) {
                throw fail(position, "stack underflow");
            }
            return stack.removeLast();
        }

        private Object peek() {
            if (stack.isEmpty() || stack.getLast() == MARK) {
                throw fail(position, "stack underflow");
            }
            return stack.getLast();
        }

        private List<Object> popMark() {
            int mark = stack.lastIndexOf(MARK);
            if (mark < 0) {
                throw fail(position, "no MARK on the stack");
            }
            List<Object> items = new ArrayList<>(stack.subList(mark + 1, stack.size()));
            stack.subList(mark, stack.size()).clear();
            return items;
        }

        private Map<Object, Object> dict(List<Object> items, long at) {
            if (items.size() % 2 != 0) {
                throw fail(at, "odd number of dict items");
            }
            Map<Object, Object> m = new LinkedHashMap<>();
            for (int i = 0; i < items.size(); i += 2) {
                m.put(items.get(i), items.get(i + 1));
            }
            return m;
        }

        @SuppressWarnings("unchecked")
        private List<Object> list(Object o, long at) {
            if (o instanceof ArrayList<?> l) {
                return (List<Object>) l;
            }
            throw fail(at, "append to " + describe(o) + ", not a list");
        }

        @SuppressWarnings("unchecked")
        private Map<Object, Object> map(Object o, long at) {
            if (o instanceof Map<?, ?> m) {
                return (Map<Object, Object>) m;
            }
            throw fail(at, "set item on " + describe(o) + ", not a dict");
        }

        private int u8() throws IOException {
            int b = in.read();
            if (b < 0) {
                throw new EOFException(source + ": pickle ends at byte " + position + " before its STOP opcode");
            }
            position++;
            return b;
        }

        private byte[] bytes(int n) throws IOException {
            byte[] b = in.readNBytes(n);
            if (b.length != n) {
                throw new EOFException(source + ": pickle ends at byte " + (position + b.length) + " inside a "
                        + n + "-byte value");
            }
            position += n;
            return b;
        }

        private int le(int n) throws IOException {
            int v = 0;
            for (int i = 0; i < n; i++) {
                v |= u8() << (8 * i);
            }
            return v;
        }

        private long le8() throws IOException {
            return (le(4) & 0xFFFFFFFFL) | ((long) le(4) << 32);
        }

        private long be8() throws IOException {
            long v = 0;
            for (int i = 0; i < 8; i++) {
                v = v << 8 | u8();
            }
            return v;
        }

        private int length(long n, long at) {
            if (n < 0 || n > Integer.MAX_VALUE - 16) {
                throw fail(at, "value of " + n + " bytes is out of range");
            }
            return (int) n;
        }

        private String line() throws IOException {
            StringBuilder sb = new StringBuilder();
            for (int b = u8(); b != '\n'; b = u8()) {
                sb.append((char) b);
            }
            return sb.toString();
        }

        private PickleException fail(long at, String message) {
            return new PickleException(source + ": " + message + " (pickle byte " + at + ")");
        }
    }

    private static List<Object> tuple(Object... items) {
        return Collections.unmodifiableList(Arrays.asList(items));
    }

    /** A little-endian two's-complement integer (LONG1/LONG4), as a Long when it fits. */
    private static Object longValue(byte[] le) {
        if (le.length == 0) {
            return 0L;
        }
        byte[] be = new byte[le.length];
        for (int i = 0; i < le.length; i++) {
            be[i] = le[le.length - 1 - i];
        }
        return narrow(new BigInteger(be));
    }

    private static Object narrow(BigInteger v) {
        return v.bitLength() < 64 ? (Object) v.longValue() : v;
    }

    private static Object textInt(String s) {
        return switch (s) {
            case "00" -> Boolean.FALSE;
            case "01" -> Boolean.TRUE;
            default -> narrow(new BigInteger(s));
        };
    }

    private static String stripSuffix(String s, String suffix) {
        return s.endsWith(suffix) ? s.substring(0, s.length() - suffix.length()) : s;
    }

    private static String utf8(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    private static String latin1(byte[] b) {
        return new String(b, StandardCharsets.ISO_8859_1);
    }

    static String describe(Object o) {
        return o == null ? "None" : o.getClass().getSimpleName() + " " + abbreviate(String.valueOf(o));
    }

    private static String abbreviate(String s) {
        return s.length() > 60 ? s.substring(0, 60) + "..." : s;
    }
}
