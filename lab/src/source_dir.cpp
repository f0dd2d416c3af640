// The source tree's path, compiled into this one small file: it differs
// between clones, and as a definition on main.cpp it would make that file
// miss the compiler cache in every fresh clone.
namespace edulab {
const char* source_dir() {
  return EDULAB_SOURCE_DIR;
}
}  // namespace edulab
