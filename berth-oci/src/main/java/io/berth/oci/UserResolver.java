package io.berth.oci;

import io.berth.core.BerthException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;

/**
 * Turns a user string ({@code uid}, {@code name}, {@code uid:gid}, {@code name:group}) into ids, reading the
 * image's {@code /etc/passwd} and {@code /etc/group} inside the rootfs, as containerd's {@code oci.WithUser} does.
 */
final class UserResolver {
  /** runc requires ids to fit a signed 32-bit int; larger values must never wrap to root (CVE-2024-40635). */
  static final long MAX_ID = Integer.MAX_VALUE;

  record Passwd(String name, long uid, long gid) {}

  record Group(String name, long gid, List<String> members) {}

  record Resolved(long uid, long gid, String userName) {}

  private final UserFiles files;
  private List<Passwd> passwd;
  private List<Group> groups;

  UserResolver(UserFiles files) {
    this.files = files;
  }

  /** Resolves {@code userstr}; {@code ""} means root. */
  Resolved resolve(String userstr) {
    if (userstr.isEmpty()) {
      userstr = "0";
    }
    String[] parts = userstr.split(":", -1);
    if (parts.length > 2) {
      throw BerthException.invalidArgument("invalid user %s", userstr);
    }
    Long uid = parseId(parts[0], "uid", userstr);
    long resolvedUid;
    long gid = 0;
    String userName;
    if (uid != null) {
      resolvedUid = uid;
      Optional<Passwd> entry = passwd().stream().filter(p -> p.uid() == uid).findFirst();
      userName = entry.map(Passwd::name).orElse(null);
      gid = entry.map(Passwd::gid).orElse(0L);
    } else {
      String name = parts[0];
      Passwd entry = passwd().stream().filter(p -> p.name().equals(name)).findFirst()
          .orElseThrow(() -> BerthException.invalidArgument("user %s not found in the image's /etc/passwd", name));
      resolvedUid = entry.uid();
      gid = entry.gid();
      userName = name;
    }
    if (parts.length == 2) {
      Long g = parseId(parts[1], "gid", userstr);
      if (g != null) {
        gid = g;
      } else {
        String groupName = parts[1];
        gid = groups().stream().filter(gr -> gr.name().equals(groupName)).findFirst()
            .orElseThrow(() -> BerthException.invalidArgument("group %s not found in the image's /etc/group", groupName))
            .gid();
      }
    }
    checkId(resolvedUid, "uid", userstr);
    checkId(gid, "gid", userstr);
    return new Resolved(resolvedUid, gid, userName);
  }

  /** Groups of the image's /etc/group that list {@code userName} as a member (not its own group). */
  List<Long> memberGroups(String userName) {
    if (userName == null) {
      return List.of();
    }
    TreeSet<Long> gids = new TreeSet<>();
    for (Group g : groups()) {
      if (!g.name().equals(userName) && g.members().contains(userName)) {
        gids.add(g.gid());
      }
    }
    return new ArrayList<>(gids);
  }

  /** Parses a decimal id; {@code null} when {@code s} is a name. Out-of-range numbers are refused, never wrapped. */
  static Long parseId(String s, String what, String userstr) {
    if (s.isEmpty()) {
      throw BerthException.invalidArgument("invalid user %s: empty %s", userstr, what);
    }
    boolean numeric = s.chars().allMatch(c -> c >= '0' && c <= '9') || (s.startsWith("-") && s.length() > 1
        && s.substring(1).chars().allMatch(c -> c >= '0' && c <= '9'));
    if (!numeric) {
      return null;
    }
    long v;
    try {
      v = Long.parseLong(s);
    } catch (NumberFormatException e) {
      throw BerthException.invalidArgument("invalid user %s: %s out of range", userstr, what);
    }
    checkId(v, what, userstr);
    return v;
  }

  static void checkId(long v, String what, String userstr) {
    if (v < 0 || v > MAX_ID) {
      throw BerthException.invalidArgument("invalid user %s: %s %d out of range [0, %d]", userstr, what, v, MAX_ID);
    }
  }

  private List<Passwd> passwd() {
    if (passwd == null) {
      passwd = new ArrayList<>();
      for (String line : files.passwd().orElse("").split("\n")) {
        String[] f = line.split(":", -1);
        if (line.startsWith("#") || f.length < 4) {
          continue;
        }
        Long uid = quietId(f[2]);
        Long gid = quietId(f[3]);
        if (uid != null && gid != null) {
          passwd.add(new Passwd(f[0], uid, gid));
        }
      }
    }
    return passwd;
  }

  private List<Group> groups() {
    if (groups == null) {
      groups = new ArrayList<>();
      for (String line : files.group().orElse("").split("\n")) {
        String[] f = line.split(":", -1);
        if (line.startsWith("#") || f.length < 3) {
          continue;
        }
        Long gid = quietId(f[2]);
        if (gid == null) {
          continue;
        }
        List<String> members = new ArrayList<>();
        if (f.length > 3) {
          for (String m : f[3].split(",")) {
            if (!m.isBlank()) {
              members.add(m.trim());
            }
          }
        }
        groups.add(new Group(f[0], gid, members));
      }
    }
    return groups;
  }

  /** Entries with ids out of range are ignored, so they cannot be picked. */
  private static Long quietId(String s) {
    try {
      long v = Long.parseLong(s.trim());
      return v < 0 || v > MAX_ID ? null : v;
    } catch (NumberFormatException e) {
      return null;
    }
  }
}
