package dev.hesstrain.sweep;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The deterministic split of a sweep's members into N shards. With at least as many structure
 * groups as shards, whole groups go to the shard with the fewest members so far, largest group
 * first (ties: the lower group, the lower shard), as long as no shard gets more than 1.25× its even
 * share; otherwise (few, large groups) the members, ordered by group, are cut into N contiguous runs
 * of equal size, so a group is split across as few shards as possible.
 */
public final class Shards {
    private Shards() {}

    /** A shard argument {@code I/N}, 0 ≤ I < N. */
    public record Shard(int index, int count) {
        public static Shard parse(String text) {
            String[] p = text == null ? new String[0] : text.strip().split("/", -1);
            try {
                if (p.length == 2) {
                    Shard s = new Shard(Integer.parseInt(p[0].strip()), Integer.parseInt(p[1].strip()));
                    if (s.count >= 1 && s.index >= 0 && s.index < s.count) {
                        return s;
                    }
                }
            } catch (NumberFormatException e) {
                // below
            }
            throw new IllegalArgumentException("--shard takes I/N with 0 <= I < N, such as 0/4, found '" + text + "'");
        }

        @Override
        public String toString() {
            return index + "/" + count;
        }
    }

    /** The members of each shard, in grid order within a shard. */
    public static List<List<Member>> split(List<Member> members, int count) {
        Map<String, List<Member>> groups = new LinkedHashMap<>();
        for (Member m : members) {
            groups.computeIfAbsent(m.group(), g -> new ArrayList<>()).add(m);
        }
        List<List<Member>> shards = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            shards.add(new ArrayList<>());
        }
        int share = (members.size() + count - 1) / Math.max(1, count);
        if (groups.size() >= count) {
            List<List<Member>> order = new ArrayList<>(groups.values());
            order.sort(Comparator.comparingInt((List<Member> g) -> -g.size()));
            int[] load = new int[count];
            List<List<Member>> packed = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                packed.add(new ArrayList<>());
            }
            for (List<Member> g : order) {
                int best = 0;
                for (int i = 1; i < count; i++) {
                    if (load[i] < load[best]) {
                        best = i;
                    }
                }
                load[best] += g.size();
                packed.get(best).addAll(g);
            }
            int max = 0;
            for (int l : load) {
                max = Math.max(max, l);
            }
            if (max <= Math.max(share, (int) Math.floor(1.25 * members.size() / count))) {
                for (List<Member> s : packed) {
                    s.sort(Comparator.comparingInt(Member::index));
                }
                return packed;
            }
        }
        List<Member> byGroup = new ArrayList<>();
        groups.values().forEach(byGroup::addAll);
        for (int i = 0; i < count; i++) {
            int from = (int) ((long) i * byGroup.size() / count);
            int to = (int) ((long) (i + 1) * byGroup.size() / count);
            List<Member> s = new ArrayList<>(byGroup.subList(from, to));
            s.sort(Comparator.comparingInt(Member::index));
            shards.set(i, s);
        }
        return shards;
    }
}
