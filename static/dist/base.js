import{m as i}from"./chunks/chunk-JRMBSWZL.js";i();
