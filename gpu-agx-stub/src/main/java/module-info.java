module dev.ferrum.agx {}
