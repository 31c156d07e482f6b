module dev.ferrum.memory {}
