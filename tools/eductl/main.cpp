// eductl: command-line front end of libedu. The logic lives in eductl_core.
#include "eductl/app.hpp"

int main(int argc, char** argv) {
  return eductl::main_entry(argc, argv);
}
