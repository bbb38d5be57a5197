#include "cgroup_naming.h"

#include <initializer_list>

namespace nodepulse::collectors::cgroup_internal {

namespace {

// absl::StrCat here takes no std::string_view (Debian 12's abseil has its
// own string_view type), and the table is std::string_view for constexpr.
std::string Cat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view p : parts) out.append(p);
  return out;
}

bool Matches(const ContainerNaming& n, std::string_view name, std::string_view* id) {
  if (!n.has_id) {
    if (name != n.prefix) return false;
    *id = {};
    return true;
  }
  if (name.size() <= n.prefix.size() + n.suffix.size() || !name.starts_with(n.prefix) ||
      !name.ends_with(n.suffix)) {
    return false;
  }
  *id = name.substr(n.prefix.size(), name.size() - n.prefix.size() - n.suffix.size());
  return true;
}

std::string Pattern(const ContainerNaming& n) {
  return n.has_id ? Cat({"`", n.prefix, "<id>", n.suffix, "`"})
                  : Cat({"`", n.prefix, "`"});
}

}  // namespace

const ContainerNaming* MonitorOf(const ContainerNaming& container) {
  for (const ContainerNaming& n : kContainerNamings) {
    if (n.role == Role::kMonitor && n.runtime == container.runtime &&
        n.driver == container.driver) {
      return &n;
    }
  }
  return nullptr;
}

const ContainerNaming* MatchContainerName(Driver driver, std::string_view component,
                                          std::string_view* id) {
  for (const ContainerNaming& n : kContainerNamings) {
    if (n.driver == driver && Matches(n, component, id)) return &n;
  }
  return nullptr;
}

std::string ContainerDirName(const ContainerNaming& naming, std::string_view id) {
  return naming.has_id ? Cat({naming.prefix, id, naming.suffix})
                       : std::string(naming.prefix);
}

std::string PodCgroupPath(const PodPlacement& placement, std::string_view uid) {
  std::string name = Cat({placement.prefix, uid, placement.suffix});
  if (placement.driver == Driver::kSystemd) {
    for (size_t i = placement.prefix.size(); i < placement.prefix.size() + uid.size(); ++i) {
      if (name[i] == '-') name[i] = '_';
    }
  }
  return Cat({placement.parent, "/", name});
}

std::string_view DriverName(Driver driver) {
  return driver == Driver::kSystemd ? "systemd" : "cgroupfs";
}

std::string NamingMatrixMarkdown() {
  std::string out =
      "| runtime | driver | container cgroup | monitor cgroup (not collected) | kubelet ID | "
      "naming proven against |\n| --- | --- | --- | --- | --- | --- |\n";
  for (const ContainerNaming& n : kContainerNamings) {
    if (n.role != Role::kContainer) continue;
    const ContainerNaming* monitor = MonitorOf(n);
    const std::string scheme = n.kubelet_scheme.empty()
                                   ? "(not a CRI runtime)"
                                   : Cat({"`", n.kubelet_scheme, "://<id>`"});
    out += Cat({"| ", n.runtime, " | ", DriverName(n.driver), " | ", Pattern(n), " | ",
                monitor ? Pattern(*monitor) : "none", " | ", scheme, " | ",
                n.evidence == Evidence::kRuntime ? "the runtime: " : "documented: ", n.source,
                " |\n"});
  }
  out += "\n| driver | QoS class | pod cgroup |\n| --- | --- | --- |\n";
  for (const PodPlacement& p : kPodPlacements) {
    out += Cat({"| ", DriverName(p.driver), " | ", p.qos, " | `", p.parent, "/", p.prefix,
                "<uid>", p.suffix, "` |\n"});
  }
  return out;
}

}  // namespace nodepulse::collectors::cgroup_internal
