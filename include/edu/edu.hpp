/// @file edu/edu.hpp
/// @brief Umbrella header of libedu, the user-space library of the edu driver.
///
/// - edu/error.hpp     edu::Error, edu::errc: the one error scheme
/// - edu/types.hpp     WaitMode, Direction, Caps, Counters, constants
/// - edu/driver.hpp    edu::drv::Device, StagingMapping: 1:1 with the kernel ABI
/// - edu/discovery.hpp sysfs discovery, EDU_VISIBLE_DEVICES
/// - edu/plan.hpp      transfer planning (path choice, chunking, device split)
/// - edu/runtime.hpp   Runtime, default_device(), copies, AsyncOp
///
/// Link with the CMake target edu::edu (find_package(edu)) or
/// `pkg-config --cflags --libs edu`.
#pragma once

#include "edu/discovery.hpp"
#include "edu/driver.hpp"
#include "edu/error.hpp"
#include "edu/plan.hpp"
#include "edu/runtime.hpp"
#include "edu/types.hpp"
